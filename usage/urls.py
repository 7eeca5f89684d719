from django.urls import path

from usage.views import budgets, dashboard, prices, retention

app_name = "usage"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("export.csv", dashboard.export_csv, name="export"),
    path("recommendations/refresh/", dashboard.refresh_recommendations, name="recommendations-refresh"),
    path("agents/batchable/", dashboard.batchable_agent_add, name="batchable-agent-add"),
    path("agents/batchable/<int:pk>/remove/", dashboard.batchable_agent_remove, name="batchable-agent-remove"),
    path("prices/", prices.price_list, name="prices"),
    path("prices/add/", prices.price_add, name="price-add"),
    path("prices/recompute/", prices.recompute, name="recompute"),
    path("prices/recompute/<int:pk>/", prices.recompute_status, name="recompute-status"),
    path("prices/profiles/", prices.mapping_add, name="mapping-add"),
    path("prices/profiles/<int:pk>/delete/", prices.mapping_delete, name="mapping-delete"),
    path("budgets/", budgets.budget_list, name="budgets"),
    path("budgets/add/", budgets.budget_create, name="budget-add"),
    path("budgets/<int:pk>/edit/", budgets.budget_edit, name="budget-edit"),
    path("budgets/<int:pk>/delete/", budgets.budget_delete, name="budget-delete"),
    path("budgets/<int:pk>/test-alert/", budgets.budget_test_alert, name="budget-test-alert"),
    path("retention/", retention.retention, name="retention"),
]
