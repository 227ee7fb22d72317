from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from bartsvoice.health import healthz, readyz
from bartsvoice.metrics_view import metrics

admin.site.site_header = "bartsvoice back office"
admin.site.site_title = "bartsvoice"
admin.site.index_title = "Service department"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("", include("scheduling.urls")),  # /admin/scheduling/schedule/, before the admin's catch-all
    path("admin/", admin.site.urls),
    path("", include("calls.urls")),
    path("", RedirectView.as_view(pattern_name="admin:index"), name="home"),
]
