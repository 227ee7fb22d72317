"""The Twilio edge: signed voice webhooks, TwiML, and REST actions on live calls."""
