from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from leadflow.accounts.models import ApiToken, Team, User


@admin.register(User)
class LeadflowUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Leadflow", {"fields": ("role", "team")}))
    list_display = ("username", "email", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    filter_horizontal = ("managers",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("hint", "user", "scopes", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_hash", "hint", "created_at", "last_used_at")
