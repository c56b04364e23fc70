"""What the developer console shows beside the features' own data: the workspace overview."""
