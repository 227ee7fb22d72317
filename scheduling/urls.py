"""Scheduling pages that live on the admin site but are not a model's change list."""

from django.contrib import admin
from django.urls import path

from scheduling.views import schedule_view

app_name = "scheduling"
urlpatterns = [
    # Included before admin.site.urls so this path wins over the admin's catch-all.
    path("admin/scheduling/schedule/", admin.site.admin_view(schedule_view), name="schedule"),
]
