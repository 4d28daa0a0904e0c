from django.contrib import admin

from leadflow.tracking.models import Identification, Site
from leadflow.tracking.queries import forget_cached_sites


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "require_consent", "is_active", "created_at")
    readonly_fields = ("key", "created_at")
    fields = ("name", "origins", "require_consent", "is_active", "key", "created_at")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        site = self.get_object(request, object_id)
        if site is not None:
            extra_context = {**(extra_context or {}), "snippet": site.snippet(request.build_absolute_uri("/"))}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        forget_cached_sites()


@admin.register(Identification)
class IdentificationAdmin(admin.ModelAdmin):
    list_display = ("visitor", "lead", "via", "outcome", "page_views", "created_at")
    list_filter = ("outcome", "via")
    raw_id_fields = ("visitor", "lead")
