from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Calls"

    def ready(self):
        # the shop's words (services, closures) that understanding caches are renewed when they change
        from calls.agent.understanding import shop_words  # noqa: F401
