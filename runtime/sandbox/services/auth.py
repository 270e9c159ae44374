"""Authentication.svc: the credential check that also reports the account's API host."""

from __future__ import annotations

from typing import Any

from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router

router = Router()


@router.route("Authentication.svc/UserByAccessKey.Get", "GET", any_host=True)
def user_by_access_key(request: SandboxRequest) -> dict[str, Any]:
    """The calling user and org; answers on every regional host (reference §1.3).

    The documented sample's shape (reference §15, CONFIRMED as the docs' sample): the login
    email is in ``PassPhrase`` and ``EmailAddress`` is null, ``OrgId`` is a GUID-like string
    and ``DefaultCountryCode`` is digits without ``+``. Real tenants may fill ``EmailAddress``
    too; the sandbox answers the documented variant, so a reader of only ``EmailAddress``
    fails here as it would against the sample.
    """
    tenant = request.tenant
    user = tenant.users[request.user_id]
    return {
        "Id": user["ID"],
        "Name": f"{user.get('FirstName', '')} {user.get('LastName', '')}".strip(),
        "EmailAddress": None,
        "PassPhrase": user.get("EmailAddress"),
        "Role": user.get("Role"),
        "TimeZone": tenant.settings.get("time_zone", "Asia/Kolkata"),
        "OrgId": tenant.public_org_id,
        "OrgDisplayName": tenant.org_name,
        "OrgShortCode": tenant.short_code,
        "DefaultCountryCode": str(tenant.settings.get("default_country_code", "91")).lstrip("+"),
        "LSQCommonServiceURLs": {"api": tenant.api_host, "app": tenant.app_host},
    }
