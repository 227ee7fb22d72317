from django.urls import path

from calls import softphone, softphone_ring
from calls.telephony import views as telephony

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
]
