"""Everything a media stream needs before its first word: token check, call record, caller context.

One synchronous function, run in a worker thread once per call (never per frame).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from calls.agent.context import CallContext
from calls.models import Call
from calls.services import claim_stream
from calls.stream_tokens import redeem_stream_token
from crm.identity import caller_id_matches
from crm.phones import try_normalize_phone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamCall:
    ctx: CallContext
    transport: str  # calls.Call.Transport value
    hints: tuple[str, ...]


def open_stream_call(*, call_sid: str, stream_sid: str, token: str) -> StreamCall | None:
    """The call this stream belongs to, or None when the token is missing, reused, expired or foreign, or when
    the call has ended or already has a stream."""
    if not token or not redeem_stream_token(token, call_sid=call_sid):
        return None
    call = Call.objects.select_related("customer").filter(call_sid=call_sid).first()
    if call is None:
        log.warning("stream token valid but no call %s on record", call_sid)
        return None
    if not claim_stream(call_id=call.pk, stream_sid=stream_sid):
        # A replayed webhook's token, or a second socket: the call is over or already has its stream.
        log.warning("stream refused for call %s: it has ended or already has a stream", call_sid)
        return None
    return StreamCall(ctx=context_for_call(call), transport=call.transport, hints=_hints(call))


def context_for_call(call: Call) -> CallContext:
    # The caller is who the caller ID says for inbound calls, the dialled party for reminder calls. The call is
    # bound to its customer only when that number is theirs: a customer recorded on the call some other way
    # (verified on an earlier stream, say) has to be verified again.
    party = call.to_number if call.direction == Call.Direction.OUTBOUND else call.from_number
    customer = call.customer if caller_id_matches(call.customer, party) else None
    return CallContext(
        call_id=call.pk,
        caller_number=try_normalize_phone(party) or party,
        direction=call.direction,
        customer_id=customer.pk if customer else None,
        customer_name=customer.first_name if customer else "",
        verified=customer is not None,
        verified_by="caller_id" if customer else "",
        appointment_id=call.appointment_id,
    )


def _hints(call: Call) -> tuple[str, ...]:
    """Words this caller is likely to say: their name and their vehicles."""
    customer = call.customer
    if customer is None:
        return ()
    words = [customer.first_name, customer.last_name]
    for make, model in customer.vehicles.values_list("make", "model"):
        words += [make, model]
    return tuple(w for w in words if w)
