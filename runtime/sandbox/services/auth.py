"""Authentication.svc: the credential check that also reports the account's API host."""

from __future__ import annotations

from typing import Any

from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router

router = Router()


@router.route("Authentication.svc/UserByAccessKey.Get", "GET", any_host=True)
def user_by_access_key(request: SandboxRequest) -> dict[str, Any]:
    """The calling user and org; answers on every regional host (reference §1.3)."""
    tenant = request.tenant
    user = tenant.users[request.user_id]
    return {
        "Id": user["ID"],
        "Name": f"{user.get('FirstName', '')} {user.get('LastName', '')}".strip(),
        "FirstName": user.get("FirstName"),
        "LastName": user.get("LastName"),
        "EmailAddress": user.get("EmailAddress"),
        "Role": user.get("Role"),
        "TimeZone": tenant.settings.get("time_zone", "Asia/Kolkata"),
        "OrgId": tenant.org_id,
        "OrgDisplayName": tenant.org_name,
        "OrgShortCode": tenant.short_code,
        "DefaultCountryCode": tenant.settings.get("default_country_code", "+91"),
        "LSQCommonServiceURLs": {"api": tenant.api_host, "app": tenant.app_host},
    }
