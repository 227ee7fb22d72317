from django.urls import path

from calls import softphone, softphone_ring
from calls import views as log
from calls.telephony import views as telephony
from calls.telephony.recording_status import recording_status

app_name = "calls"
urlpatterns = [
    path("twilio/voice/inbound/", telephony.inbound_voice, name="twilio-inbound"),
    path("twilio/voice/outbound/<int:reminder_id>/", telephony.outbound_voice, name="twilio-outbound"),
    path("twilio/voice/amd/<int:reminder_id>/", telephony.reminder_machine_detection, name="twilio-amd"),
    path("twilio/voice/status/", telephony.voice_status, name="twilio-status"),
    path("calls/softphone/", softphone.softphone_page, name="softphone"),
    path("calls/softphone/customers/", softphone.customer_search, name="softphone-customers"),
    path("calls/softphone/start/", softphone.start_softphone_call, name="softphone-start"),
    path("calls/softphone/ringing/", softphone_ring.ringing, name="softphone-ringing"),
    path("calls/softphone/answer/<str:call_sid>/", softphone_ring.answer, name="softphone-answer"),
    path("calls/softphone/decline/<str:call_sid>/", softphone_ring.decline, name="softphone-decline"),
    path("twilio/voice/recording/", recording_status, name="twilio-recording"),
    # The managers' call log (calls/views.py)
    path("calls/", log.call_log, name="log"),
    path("calls/export.csv", log.call_log_csv, name="log-csv"),
    path("calls/<int:pk>/", log.call_detail, name="detail"),
    path("calls/<int:pk>/recording/", log.recording, name="recording"),
    path("calls/<int:pk>/callback-made/", log.callback_made, name="callback-made"),
    path("calls/callbacks/", log.callbacks, name="callbacks"),
    path("calls/live/", log.live, name="live"),
    path("dashboard/", log.dashboard, name="dashboard"),
]
