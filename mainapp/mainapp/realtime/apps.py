from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "mainapp.realtime"
    label = "realtime"
    verbose_name = "Real-time notifications"
