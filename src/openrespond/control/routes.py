"""Control API under ``/control``: the administrator token, or a workspace's own token.

Who may call what is decided once, by the guard of the ``/control`` routes
(``http.context.control_access``); each route parses, calls the operation the CLI calls too,
and shapes the answer.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.params import FromPath, JSONBody

from openrespond.accounts import service as accounts
from openrespond.channels import provider_channels, upkeep, whatsapp
from openrespond.channels import settings as channel_settings
from openrespond.common import StatusMessage
from openrespond.control import schemas as s
from openrespond.custom_fields import service as fields
from openrespond.custom_fields.schemas import CustomField, CustomFieldCreate
from openrespond.db import Scope
from openrespond.errors import BadGateway, Conflict
from openrespond.http.context import read_conn, reading, write_tx, writing
from openrespond.http.pagination import public_base
from openrespond.http.routing import PathId, delete, get, post, put
from openrespond.space import api_tokens as space_tokens
from openrespond.space import catalogue as space_catalogue
from openrespond.space import channels as space_channels
from openrespond.space import templates as space_templates
from openrespond.space import users as space_users
from openrespond.space import workspaces as space_workspaces
from openrespond.space.schemas import ClosingNote, Template, User
from openrespond.tags import service as tags
from openrespond.tags.schemas import Tag, TagCreate
from openrespond.validation import clean

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
W = "/control/workspaces/{wid:int}"
T = ["Control"]
ADMIN = {"admin": True}


def _ok(message: str) -> StatusMessage:
    return StatusMessage(code=200, message=message)


@post(
    "/control/workspaces",
    tags=T,
    operation_id="controlCreateWorkspace",
    summary="Create a workspace (administrator)",
    opt=ADMIN,
)
async def create_workspace(request: Req, data: JSONBody[s.WorkspaceCreate]) -> s.Workspace:
    tx = await write_tx(request)
    wid = await space_workspaces.create_workspace(tx, name=data.name)
    return await space_workspaces.get_workspace(Scope(tx, wid))


@get(
    "/control/workspaces",
    tags=T,
    operation_id="controlListWorkspaces",
    summary="List workspaces (administrator)",
    opt=ADMIN,
)
async def list_workspaces(request: Req) -> s.WorkspaceList:
    return s.WorkspaceList(items=await space_workspaces.list_workspaces(read_conn(request)))


@get(W, tags=T, operation_id="controlGetWorkspace", summary="Get a workspace")
async def get_workspace(request: Req, wid: PathId) -> s.Workspace:
    return await space_workspaces.get_workspace(reading(request))


@delete(
    W,
    tags=T,
    operation_id="controlDeleteWorkspace",
    summary="Delete a workspace and all its data (administrator)",
    opt=ADMIN,
)
async def delete_workspace(request: Req, wid: PathId) -> StatusMessage:
    await space_workspaces.delete_workspace(await writing(request))
    return _ok("Workspace deleted")


@post(
    W + "/tokens",
    tags=T,
    operation_id="controlIssueToken",
    summary="Issue an API token (shown once)",
)
async def issue_token(request: Req, wid: PathId, data: JSONBody[s.TokenCreate]) -> s.IssuedToken:
    secret = request.app.state.secret
    token_id, token = await space_tokens.issue_token(
        await writing(request), name=data.name, secret=secret
    )
    return s.IssuedToken(id=token_id, name=clean(data.name), workspace_id=wid, token=token)


@get(
    W + "/tokens",
    tags=T,
    operation_id="controlListTokens",
    summary="List a workspace's tokens (never the tokens themselves)",
)
async def list_tokens(request: Req, wid: PathId) -> s.TokenList:
    return s.TokenList(items=await space_tokens.list_tokens(reading(request)))


@delete(
    W + "/tokens/{tokenId:int}", tags=T, operation_id="controlRevokeToken", summary="Revoke a token"
)
async def revoke_token(request: Req, wid: PathId, tokenId: PathId) -> StatusMessage:
    await space_tokens.revoke_token(await writing(request), tokenId)
    request.app.state.auth.forget()
    return _ok("Token revoked")


@post(W + "/users", tags=T, operation_id="controlCreateUser", summary="Add a user")
async def create_user(request: Req, wid: PathId, data: JSONBody[s.UserCreate]) -> User:
    return await space_users.create_user(
        await writing(request),
        first_name=data.first_name,
        last_name=data.last_name,
        email=data.email,
        role=data.role,
        team=data.team,
        restrictions=data.restrictions,
    )


@get(W + "/users", tags=T, operation_id="controlListUsers", summary="List users")
async def list_users(request: Req, wid: PathId) -> s.UserList:
    return s.UserList(items=await space_users.list_users(reading(request)))


@put(
    W + "/users/{userId:int}",
    tags=T,
    operation_id="controlUpdateUser",
    summary="Change a user's role, or deactivate or reactivate them",
)
async def update_user(
    request: Req, wid: PathId, userId: PathId, data: JSONBody[s.UserUpdate]
) -> User:
    return await space_users.change_member(
        await writing(request), userId, role=data.role, active=data.active
    )


@delete(
    W + "/users/{userId:int}", tags=T, operation_id="controlDeleteUser", summary="Remove a user"
)
async def delete_user(request: Req, wid: PathId, userId: PathId) -> StatusMessage:
    await space_users.delete_user(await writing(request), userId)
    return _ok("User deleted")


@post(
    W + "/users/{userId:int}/links",
    tags=T,
    operation_id="controlCreateUserLink",
    summary="Make a one-time link to the app for a user (invitation, password reset or sign-in)",
    opt={"admin": True},
)
async def create_user_link(
    request: Req, wid: PathId, userId: PathId, data: JSONBody[s.UserLinkCreate]
) -> s.UserLink:
    token, expires = await accounts.issue_link(await writing(request), userId, purpose=data.purpose)
    return s.UserLink(url=accounts.link_url(public_base(request), token), expires_at=expires)


@post(
    W + "/lifecycle_stages",
    tags=T,
    operation_id="controlCreateLifecycleStage",
    summary="Add a lifecycle stage (appended last)",
)
async def create_stage(
    request: Req, wid: PathId, data: JSONBody[s.LifecycleStageCreate]
) -> s.LifecycleStageList:
    sc = await writing(request)
    await space_catalogue.add_lifecycle_stage(sc, data.name)
    return s.LifecycleStageList(items=await space_catalogue.list_lifecycle_stages(sc))


@get(
    W + "/lifecycle_stages",
    tags=T,
    operation_id="controlListLifecycleStages",
    summary="List lifecycle stages in order",
)
async def list_stages(request: Req, wid: PathId) -> s.LifecycleStageList:
    items = await space_catalogue.list_lifecycle_stages(reading(request))
    return s.LifecycleStageList(items=items)


@delete(
    W + "/lifecycle_stages/{name:str}",
    tags=T,
    operation_id="controlDeleteLifecycleStage",
    summary="Remove a lifecycle stage (contacts in it lose their stage)",
)
async def delete_stage(request: Req, wid: PathId, name: FromPath[str]) -> StatusMessage:
    await space_catalogue.remove_lifecycle_stage(await writing(request), name)
    return _ok("Lifecycle stage deleted")


@post(
    W + "/closing_notes",
    tags=T,
    operation_id="controlCreateClosingNote",
    summary="Add a closing-note category",
)
async def create_note(
    request: Req, wid: PathId, data: JSONBody[s.ClosingNoteCreate]
) -> ClosingNote:
    await space_catalogue.add_closing_note(
        await writing(request), category=data.category, description=data.description
    )
    return ClosingNote(category=clean(data.category), description=data.description)


@get(
    W + "/closing_notes",
    tags=T,
    operation_id="controlListClosingNotes",
    summary="List closing-note categories",
)
async def list_notes(request: Req, wid: PathId) -> s.ClosingNoteList:
    return s.ClosingNoteList(items=await space_catalogue.list_closing_notes(reading(request)))


@delete(
    W + "/closing_notes/{category:str}",
    tags=T,
    operation_id="controlDeleteClosingNote",
    summary="Remove a closing-note category",
)
async def delete_note(request: Req, wid: PathId, category: FromPath[str]) -> StatusMessage:
    await space_catalogue.remove_closing_note(await writing(request), category)
    return _ok("Closing note deleted")


@post(
    W + "/custom_fields",
    tags=T,
    operation_id="controlCreateCustomField",
    summary="Define a custom field",
)
async def create_field(request: Req, wid: PathId, data: JSONBody[CustomFieldCreate]) -> CustomField:
    sc = await writing(request)
    await space_workspaces.existing(sc)
    return await fields.create_field(sc, data)


@get(
    W + "/custom_fields",
    tags=T,
    operation_id="controlListCustomFields",
    summary="List custom fields",
)
async def list_fields(request: Req, wid: PathId) -> s.CustomFieldList:
    return s.CustomFieldList(items=await fields.list_fields(reading(request)))


@delete(
    W + "/custom_fields/{fieldId:int}",
    tags=T,
    operation_id="controlDeleteCustomField",
    summary="Delete a custom field and its values",
)
async def delete_field(request: Req, wid: PathId, fieldId: PathId) -> StatusMessage:
    await fields.delete_field(await writing(request), fieldId)
    return _ok("Custom field deleted")


@post(W + "/tags", tags=T, operation_id="controlCreateTag", summary="Create a tag")
async def create_tag(request: Req, wid: PathId, data: JSONBody[TagCreate]) -> Tag:
    sc = await writing(request)
    await space_workspaces.existing(sc)
    return await tags.create_tag(sc, data)


@get(W + "/tags", tags=T, operation_id="controlListTags", summary="List tags")
async def list_tags(request: Req, wid: PathId) -> s.TagList:
    return s.TagList(items=await tags.list_tags(reading(request)))


@delete(W + "/tags/{name:str}", tags=T, operation_id="controlDeleteTag", summary="Delete a tag")
async def delete_tag(request: Req, wid: PathId, name: FromPath[str]) -> StatusMessage:
    await tags.delete_tag(await writing(request), name)
    return _ok("Tag deleted")


@post(
    W + "/channels",
    tags=T,
    operation_id="controlCreateChannel",
    summary="Create a channel (source as clients see it, driver that delivers)",
)
async def create_channel(
    request: Req, wid: PathId, data: JSONBody[s.ChannelCreate]
) -> s.ChannelCreated:
    settings, token = channel_settings.with_token(data.driver, data.settings)
    networks = request.app.state.settings.networks
    await space_channels.check_channel_settings(
        reading(request), settings=settings, networks=networks, driver=data.driver
    )
    row = await space_channels.create_channel(
        await writing(request),
        name=data.name,
        source=data.source,
        driver=data.driver,
        settings=settings,
        channel_id=data.id,
        sealer=request.app.state.sealer,
        networks=networks,
    )
    shown = space_channels.control_channel_from_row(row)
    return s.ChannelCreated(
        id=shown.id,
        name=shown.name,
        source=shown.source,
        created_at=shown.created_at,
        driver=shown.driver,
        token=token,
        webhook_url=channel_settings.webhook_url(data.driver, shown.id, public_base(request)),
    )


@get(W + "/channels", tags=T, operation_id="controlListChannels", summary="List channels")
async def list_channels(request: Req, wid: PathId) -> s.ChannelList:
    return s.ChannelList(items=await space_channels.list_channels(reading(request)))


@put(
    W + "/channels/{channelId:int}",
    tags=T,
    operation_id="controlUpdateChannel",
    summary="Rename a channel or replace its delivery settings",
)
async def update_channel(
    request: Req, wid: PathId, channelId: PathId, data: JSONBody[s.ChannelUpdate]
) -> s.ControlChannel:
    networks = request.app.state.settings.networks
    await space_channels.check_channel_settings(
        reading(request), settings=data.settings, networks=networks, channel_id=channelId
    )
    row = await space_channels.update_channel(
        await writing(request),
        channelId,
        name=data.name,
        settings=data.settings,
        sealer=request.app.state.sealer,
        networks=networks,
    )
    return space_channels.control_channel_from_row(row)


@post(
    W + "/channels/{channelId:int}/templates/sync",
    tags=T,
    operation_id="controlSyncTemplates",
    summary="Read a WhatsApp Cloud channel's templates from the Graph API now",
)
async def sync_templates(request: Req, wid: PathId, channelId: PathId) -> s.TemplateSync:
    state = request.app.state
    found = await space_channels.get_channel(reading(request), channelId)
    if found["driver"] != "whatsapp_cloud":
        raise Conflict(
            f"channel {channelId} is not a WhatsApp Cloud channel: it has no templates to read"
        )
    channel = await provider_channels.one(reading(request).conn, channelId)
    assert channel is not None
    try:
        added, changed, removed = await upkeep.read_templates_now(
            state.db,
            channel,
            sealer=state.sealer,
            networks=state.settings.networks,
            timeout_seconds=state.settings.webhook_timeout_seconds,
        )
    except whatsapp.TemplateSyncError as exc:
        raise BadGateway(f"templates could not be read: {exc}") from None
    return s.TemplateSync(added=added, changed=changed, removed=removed)


@delete(
    W + "/channels/{channelId:int}",
    tags=T,
    operation_id="controlDeleteChannel",
    summary="Delete a channel",
)
async def delete_channel(request: Req, wid: PathId, channelId: PathId) -> StatusMessage:
    await space_channels.delete_channel(await writing(request), channelId)
    return _ok("Channel deleted")


@post(
    W + "/channels/{channelId:int}/templates",
    tags=T,
    operation_id="controlCreateTemplate",
    summary="Add a message template to a channel",
)
async def create_template(
    request: Req, wid: PathId, channelId: PathId, data: JSONBody[s.TemplateCreate]
) -> Template:
    return await space_templates.create_template(
        await writing(request),
        channel_id=channelId,
        name=data.name,
        language_code=data.language_code,
        category=data.category,
        status=data.status,
        components=data.components,
        provider_id=data.provider_id,
    )


@get(
    W + "/channels/{channelId:int}/templates",
    tags=T,
    operation_id="controlListTemplates",
    summary="List a channel's templates",
)
async def list_templates(request: Req, wid: PathId, channelId: PathId) -> s.TemplateList:
    items = await space_templates.list_templates(reading(request), channelId)
    return s.TemplateList(items=items)


@delete(
    W + "/templates/{templateId:int}",
    tags=T,
    operation_id="controlDeleteTemplate",
    summary="Delete a template",
)
async def delete_template(request: Req, wid: PathId, templateId: PathId) -> StatusMessage:
    await space_templates.delete_template(await writing(request), templateId)
    return _ok("Template deleted")


ROUTES = [
    create_workspace,
    list_workspaces,
    get_workspace,
    delete_workspace,
    issue_token,
    list_tokens,
    revoke_token,
    create_user,
    list_users,
    create_user_link,
    update_user,
    delete_user,
    create_stage,
    list_stages,
    delete_stage,
    create_note,
    list_notes,
    delete_note,
    create_field,
    list_fields,
    delete_field,
    create_tag,
    list_tags,
    delete_tag,
    create_channel,
    list_channels,
    update_channel,
    sync_templates,
    delete_channel,
    create_template,
    list_templates,
    delete_template,
]
