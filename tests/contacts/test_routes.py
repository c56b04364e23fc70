"""Contact routes: success paths and every class of bad input."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.conftest import Workspace


def error(r: httpx.Response, status: int, *words: str) -> None:
    """``r`` is a {code, message} error with this status, whose message mentions ``words``."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == status
    assert isinstance(body["message"], str)
    assert body["message"]
    for word in words:
        assert word.lower() in body["message"].lower(), body["message"]


class TestCreate:
    def test_collection_route_answers_like_respond_io(self, ws: Workspace) -> None:
        r = ws.api.post(
            "/contact",
            json={"firstName": "Ada", "email": "Ada@Example.com", "phone": "+60 12-345 6789"},
        )
        assert r.status_code == 200
        body = r.json()
        assert body["code"] == "200"
        assert body["message"] == "Contact added successfully!"
        got = ws.api.get(f"/contact/id:{body['contactId']}").json()
        assert got["email"] == "ada@example.com"
        assert got["phone"] == "+60123456789"
        assert got["status"] == "close"
        assert got["tags"] == []
        assert got["custom_fields"] == []
        assert got["lifecycle"] is None
        assert got["assignee"] is None
        assert isinstance(got["created_at"], int)

    def test_official_route_takes_email_or_phone_from_identifier(self, ws: Workspace) -> None:
        r = ws.api.post(
            "/contact/email:grace@example.com", json={"firstName": "Grace", "phone": "+60123450000"}
        )
        assert r.status_code == 200, r.text
        got = ws.api.get("/contact/email:grace@example.com").json()
        assert got["phone"] == "+60123450000"
        r = ws.api.post("/contact/phone:+60199999999", json={"firstName": "Linus"})
        assert r.status_code == 200
        assert ws.api.get("/contact/phone:+60199999999").json()["firstName"] == "Linus"

    def test_official_route_refuses_id_identifier(self, ws: Workspace) -> None:
        error(ws.api.post("/contact/id:5", json={"firstName": "X"}), 400, "id:")

    def test_duplicate_email_or_phone_is_409_with_existing_id(self, ws: Workspace) -> None:
        cid = ws.contact(email="dup@example.com", phone="+60123456780")
        r = ws.api.post("/contact", json={"firstName": "B", "email": "DUP@example.com"})
        error(r, 409, "email")
        assert r.json()["contactId"] == cid
        r = ws.api.post("/contact/phone:+60123456780", json={"firstName": "C"})
        error(r, 409, "phone")
        assert r.json()["contactId"] == cid

    def test_all_fields_are_stored_normalised(self, ws: Workspace) -> None:
        cid = ws.contact(
            "Ada",
            lastName="Lovelace",
            email="ada@example.com",
            phone="+442071838750",
            language="en",
            countryCode="GB",
            profilePic="https://example.com/a.png",
        )
        got = ws.api.get(f"/contact/id:{cid}").json()
        assert got["language"] == "en"
        assert got["countryCode"] == "GB"
        assert got["profilePic"] == "https://example.com/a.png"
        assert got["lastName"] == "Lovelace"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "firstName"),
            ({"firstName": ""}, "firstName"),
            ({"firstName": "   "}, "firstName"),
            ({"firstName": 3}, "firstName"),
            ({"firstName": "x" * 256}, "firstName"),
            ({"firstName": "A", "email": "not-an-email"}, "email"),
            ({"firstName": "A", "email": "a@" + "b" * 260 + ".com"}, "email"),
            ({"firstName": "A", "phone": "12345"}, "phone"),
            ({"firstName": "A", "phone": "+1"}, "phone"),
            ({"firstName": "A", "phone": 60123}, "phone"),
            # E.164 has no extensions: dropping it would store someone else's number
            ({"firstName": "A", "phone": "+1 (555) 0100 ext 5"}, "extension"),
            ({"firstName": "A", "phone": "+44 20 7946 0958 x123"}, "extension"),
            ({"firstName": "A", "language": "xx"}, "language"),
            ({"firstName": "A", "language": "EN"}, "language"),
            ({"firstName": "A", "countryCode": "my"}, "countryCode"),
            ({"firstName": "A", "countryCode": "ZZ"}, "countryCode"),
            ({"firstName": "A", "profilePic": "ftp://x"}, "profilePic"),
            ({"firstName": "A", "custom_fields": [{"name": "nope", "value": "x"}]}, "nope"),
            ({"firstName": "A", "custom_fields": "x"}, "custom_fields"),
            ([], "object"),
        ],
    )
    def test_bad_input_is_400_naming_the_field_and_stores_nothing(
        self, ws: Workspace, body: object, field: str
    ) -> None:
        error(ws.api.post("/contact", json=body), 400, field)
        assert ws.api.get("/contact/list").json()["items"] == []

    def test_malformed_json_and_missing_body(self, ws: Workspace) -> None:
        r = ws.api.post(
            "/contact", content=b'{"firstName": "A"', headers={"content-type": "application/json"}
        )
        error(r, 400, "json")
        error(ws.api.post("/contact"), 400, "body")

    @pytest.mark.parametrize(
        "ident",
        ["foo:bar", "email:", "email:nope", "phone:abc", "id:abc", "id:0", "id:-1", "plain"],
    )
    def test_malformed_identifier_is_400(self, ws: Workspace, ident: str) -> None:
        error(ws.api.get(f"/contact/{ident}"), 400, "identifier")


class TestGet:
    def test_identifier_forms_raw_and_percent_encoded(self, ws: Workspace) -> None:
        cid = ws.contact(email="ada+tag@example.com", phone="+60123456789")
        for ident in (
            f"id:{cid}",
            "email:ada+tag@example.com",
            "email:ADA+tag@EXAMPLE.com",
            quote("email:ada+tag@example.com", safe=""),
            "phone:+60123456789",
            "phone:%2B60123456789",
            quote("phone:+60123456789", safe=""),
        ):
            r = ws.api.get(f"/contact/{ident}")
            assert r.status_code == 200, (ident, r.text)
            assert r.json()["id"] == cid

    def test_unknown_contact_is_404(self, ws: Workspace) -> None:
        error(ws.api.get("/contact/id:987654321"), 404, "id:987654321")
        error(ws.api.get("/contact/email:nobody@example.com"), 404, "nobody@example.com")
        error(ws.api.get("/contact/phone:+60100000001"), 404)


class TestUpdate:
    def test_partial_update_keeps_absent_fields(self, ws: Workspace) -> None:
        cid = ws.contact("Ada", lastName="Lovelace", email="ada@example.com")
        r = ws.api.put(f"/contact/id:{cid}", json={"firstName": "Augusta"})
        assert r.status_code == 200
        assert r.json() == {"contactId": cid}
        got = ws.api.get(f"/contact/id:{cid}").json()
        assert (got["firstName"], got["lastName"], got["email"]) == (
            "Augusta",
            "Lovelace",
            "ada@example.com",
        )

    def test_null_clears_a_field(self, ws: Workspace) -> None:
        cid = ws.contact("Ada", lastName="Lovelace", email="ada@example.com")
        ws.api.put(f"/contact/id:{cid}", json={"lastName": None, "email": None})
        got = ws.api.get(f"/contact/id:{cid}").json()
        assert got["lastName"] is None
        assert got["email"] is None

    def test_taking_another_contacts_email_is_409(self, ws: Workspace) -> None:
        a = ws.contact("A", email="a@example.com")
        b = ws.contact("B", email="b@example.com")
        r = ws.api.put(f"/contact/id:{b}", json={"email": "a@example.com"})
        error(r, 409, "email")
        assert r.json()["contactId"] == a
        assert ws.api.get(f"/contact/id:{b}").json()["email"] == "b@example.com"

    def test_keeping_its_own_email_is_fine(self, ws: Workspace) -> None:
        a = ws.contact("A", email="a@example.com")
        assert ws.api.put(f"/contact/id:{a}", json={"email": "A@example.com"}).status_code == 200

    def test_bad_input_changes_nothing(self, ws: Workspace) -> None:
        cid = ws.contact("Ada", email="ada@example.com")
        before = ws.api.get(f"/contact/id:{cid}").json()
        for body in (
            {"firstName": None},
            {"firstName": "Z", "email": "bad"},
            {"firstName": "Z", "custom_fields": [{"name": "unknown", "value": 1}]},
            {"firstName": "Z", "language": "zz"},
        ):
            assert ws.api.put(f"/contact/id:{cid}", json=body).status_code == 400
        assert ws.api.get(f"/contact/id:{cid}").json() == before

    def test_unknown_contact_is_404(self, ws: Workspace) -> None:
        error(ws.api.put("/contact/id:987654321", json={"firstName": "X"}), 404)


class TestCreateOrUpdate:
    def test_creates_then_updates(self, ws: Workspace) -> None:
        r = ws.api.post(
            "/contact/create_or_update/email:new@example.com", json={"firstName": "New"}
        )
        assert r.status_code == 200
        cid = r.json()["contactId"]
        r = ws.api.post(
            "/contact/create_or_update/email:new@example.com",
            json={"firstName": "Newer", "lastName": "Person"},
        )
        assert r.json() == {"contactId": cid}
        got = ws.api.get(f"/contact/id:{cid}").json()
        assert (got["firstName"], got["lastName"]) == ("Newer", "Person")

    def test_first_name_is_required_to_create_only(self, ws: Workspace) -> None:
        error(
            ws.api.post("/contact/create_or_update/email:x@example.com", json={"lastName": "X"}),
            400,
            "firstName",
        )
        assert ws.api.get("/contact/email:x@example.com").status_code == 404
        # respond.io's n8n node leaves firstName out to keep the contact's own
        cid = ws.contact("Xena", email="x@example.com")
        r = ws.api.post("/contact/create_or_update/email:x@example.com", json={"lastName": "X"})
        assert r.json() == {"contactId": cid}
        got = ws.api.get(f"/contact/id:{cid}").json()
        assert (got["firstName"], got["lastName"]) == ("Xena", "X")

    def test_unknown_id_is_404(self, ws: Workspace) -> None:
        error(ws.api.post("/contact/create_or_update/id:987654321", json={"firstName": "X"}), 404)


class TestDelete:
    def test_delete_removes_the_contact(self, ws: Workspace) -> None:
        cid = ws.contact(email="gone@example.com")
        ws.api.post(f"/contact/id:{cid}/tag", json=["vip"])
        r = ws.api.delete("/contact/email:gone@example.com")
        assert r.status_code == 200
        assert r.json() == {"contactId": cid}
        error(ws.api.get(f"/contact/id:{cid}"), 404)
        error(ws.api.delete(f"/contact/id:{cid}"), 404)
        # the email is free again
        assert (
            ws.api.post(
                "/contact", json={"firstName": "Again", "email": "gone@example.com"}
            ).status_code
            == 200
        )


class TestLifecycle:
    def test_set_and_clear(self, ws: Workspace) -> None:
        cid = ws.contact()
        r = ws.api.post(f"/contact/id:{cid}/lifecycle/update", json={"name": "Hot Lead"})
        assert r.json() == {"code": 200, "message": "Success"}
        assert ws.api.get(f"/contact/id:{cid}").json()["lifecycle"] == "Hot Lead"
        ws.api.post(f"/contact/id:{cid}/lifecycle/update", json={"name": None})
        assert ws.api.get(f"/contact/id:{cid}").json()["lifecycle"] is None
        ws.api.post(f"/contact/id:{cid}/lifecycle/update", json={"name": "Customer"})
        r = ws.api.post(
            f"/contact/id:{cid}/lifecycle/update",
            content=b"null",
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 200
        assert ws.api.get(f"/contact/id:{cid}").json()["lifecycle"] is None

    def test_unknown_stage_is_400(self, ws: Workspace) -> None:
        cid = ws.contact()
        error(
            ws.api.post(f"/contact/id:{cid}/lifecycle/update", json={"name": "Nope"}),
            400,
            "lifecycle",
        )
        error(ws.api.post(f"/contact/id:{cid}/lifecycle/update", json={"name": 5}), 400, "name")
        error(ws.api.post("/contact/id:987654321/lifecycle/update", json={"name": "Hot Lead"}), 404)


class TestTags:
    def test_add_both_forms_and_remove(self, ws: Workspace) -> None:
        cid = ws.contact()
        assert ws.api.post(f"/contact/id:{cid}/tag", json=["vip", "newsletter"]).json() == {
            "contactId": cid
        }
        assert (
            ws.api.post(f"/contact/id:{cid}/tag", json={"tags": ["beta", "vip"]}).status_code == 200
        )
        assert ws.api.get(f"/contact/id:{cid}").json()["tags"] == ["beta", "newsletter", "vip"]
        r = ws.api.request("DELETE", f"/contact/id:{cid}/tag", json=["vip", "never-had"])
        assert r.json() == {"contactId": cid}
        r = ws.api.request("DELETE", f"/contact/id:{cid}/tag", json={"tags": ["beta"]})
        assert r.status_code == 200
        assert ws.api.get(f"/contact/id:{cid}").json()["tags"] == ["newsletter"]
        # unknown names became workspace tags
        names = [t["name"] for t in ws.api.get("/space/tag?limit=100").json()["items"]]
        assert {"vip", "newsletter", "beta"} <= set(names)

    @pytest.mark.parametrize(
        "body",
        [[], ["a"] * 11, [""], ["x" * 256], "vip", {"tags": []}, {"tags": "vip"}, [1], None],
    )
    def test_bad_bodies_are_400(self, ws: Workspace, body: object) -> None:
        cid = ws.contact()
        r = ws.api.post(f"/contact/id:{cid}/tag", json=body)
        error(r, 400)
        r = ws.api.request("DELETE", f"/contact/id:{cid}/tag", json=body)
        error(r, 400)
        assert ws.api.get(f"/contact/id:{cid}").json()["tags"] == []

    def test_unknown_contact_is_404(self, ws: Workspace) -> None:
        error(ws.api.post("/contact/id:987654321/tag", json=["x"]), 404)
        error(ws.api.request("DELETE", "/contact/id:987654321/tag", json=["x"]), 404)


class TestCustomFieldValues:
    @pytest.fixture
    def fields(self, ws: Workspace) -> None:
        for body in (
            {"name": "Tier", "dataType": "list", "allowedValues": ["free", "pro"]},
            {"name": "Score", "dataType": "number"},
            {"name": "Subscribed", "dataType": "checkbox"},
            {"name": "Birthday", "dataType": "date"},
            {"name": "Call at", "dataType": "time"},
            {"name": "Work email", "slug": "work_email", "dataType": "email"},
            {"name": "Site", "dataType": "url"},
            {"name": "Note", "dataType": "text"},
        ):
            assert ws.api.post("/space/custom_field", json=body).status_code == 200

    def test_values_round_trip_in_their_types(self, ws: Workspace, fields: None) -> None:
        cid = ws.contact(
            custom_fields=[
                {"name": "Tier", "value": "pro"},
                {"name": "Score", "value": "42"},
                {"name": "Subscribed", "value": "true"},
                {"name": "Birthday", "value": "1990-02-28"},
                {"name": "Call at", "value": "09:30"},
                {"name": "work_email", "value": "Ada@Work.com"},
                {"name": "Site", "value": "https://example.com"},
                {"name": "Note", "value": "likes tea"},
            ]
        )
        got = {
            f["name"]: f["value"] for f in ws.api.get(f"/contact/id:{cid}").json()["custom_fields"]
        }
        assert got == {
            "Tier": "pro",
            "Score": 42,
            "Subscribed": True,
            "Birthday": "1990-02-28",
            "Call at": "09:30",
            "Work email": "ada@work.com",
            "Site": "https://example.com",
            "Note": "likes tea",
        }

    def test_update_merges_by_name_and_null_removes(self, ws: Workspace, fields: None) -> None:
        cid = ws.contact(
            custom_fields=[{"name": "Tier", "value": "free"}, {"name": "Score", "value": 1.5}]
        )
        ws.api.put(f"/contact/id:{cid}", json={"custom_fields": [{"name": "Tier", "value": "pro"}]})
        got = {
            f["name"]: f["value"] for f in ws.api.get(f"/contact/id:{cid}").json()["custom_fields"]
        }
        assert got == {"Tier": "pro", "Score": 1.5}
        ws.api.put(f"/contact/id:{cid}", json={"custom_fields": [{"name": "Score", "value": None}]})
        got = {
            f["name"]: f["value"] for f in ws.api.get(f"/contact/id:{cid}").json()["custom_fields"]
        }
        assert got == {"Tier": "pro"}

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("Tier", "gold"),
            ("Score", "abc"),
            ("Score", True),
            ("Subscribed", "yes"),
            ("Birthday", "1990-02-30"),
            ("Birthday", "28/02/1990"),
            ("Call at", "25:00"),
            ("Work email", "nope"),
            ("Site", "example.com"),
            ("Note", 5),
            ("Note", "x" * 2001),
        ],
    )
    def test_wrong_type_is_400_naming_the_field(
        self, ws: Workspace, fields: None, name: str, value: object
    ) -> None:
        error(
            ws.api.post(
                "/contact",
                json={"firstName": "A", "custom_fields": [{"name": name, "value": value}]},
            ),
            400,
            name,
        )
        assert ws.api.get("/contact/list").json()["items"] == []
