"""mainapp's routes. The gateway forwards /api/auth/, /api/users/, /.well-known/ and /admin/."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from mainapp import errors
from mainapp.accounts.admin_login import admin_login
from mainapp.health import health
from mainapp.metrics import metrics_view

urlpatterns = [
    path("health", health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    path("admin/login/", admin_login, name="admin-login"),  # throttled; before the admin's own
    path("admin/", admin.site.urls),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("", include("mainapp.accounts.urls")),
]

handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.not_found
handler500 = errors.server_error
