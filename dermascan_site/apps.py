from django.contrib.admin.apps import AdminConfig


class DermaScanAdminConfig(AdminConfig):
    """django.contrib.admin, with a site that can require a second factor of staff."""

    default_site = "dermascan_site.accounts.DermaScanAdminSite"
