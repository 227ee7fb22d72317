"""What a customer's answer to the reminder call means, beyond the general understanding: the ways people say yes
on the phone ("mm-hmm", "we'll be there"), "hold on", "stop calling me", "call me back tomorrow", "9:30, right?",
"can it be 10 instead of 9", a yes that carries a request ("and an oil change while it's there?").

`read_answer` turns the normalized line into a ReminderAnswer; the reminder flow decides what to do with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from calls.agent import nlu

# Words that make a yes no yes ("maybe", "I guess"): the agent asks again before it writes.
UNSURE = re.compile(r"\b(maybe|not sure|dont know|i guess|possibly|might)\b")
# A yes the general understanding misses. "no, I mean yes" is a corrected yes.
_YES = re.compile(
    r"\b(sure thing|sure|yeah|yep|yup|yes|mm hmm|mhm|uh huh|(we|i)re good|were all good|(well|ill|we will|i will) be "
    r"there|(i|we) should be able to|i think so|should be fine|sounds good|that works|works for me|of course|"
    r"absolutely|definitely|correct|(thats|oh|all) right|alright|planning on it|still on|count (me|us) in)\b"
)
# A yes that waits on something ("before I say yes, what's it gonna cost?", "yes if it's under 100"): not given yet.
_CONDITIONAL_YES = re.compile(
    r"\b(before (i|we) (say yes|say ok|agree|commit|confirm|decide)|say(ing)? yes (if|when|once|after)|"
    r"(depends|depending) on|first (tell|let) me|(yes|ok|okay|sure) if (its|it is|thats|the price|it costs|it comes))\b"
)
# "Not a problem at all", "no worries": a yes that starts with no ("no, problem is..." is none).
_NO_PROBLEM = re.compile(
    r"\b(no problem|not a problem|no problemo|no prob|no probs|no worries|not an issue|no issue)\b(?! (is|was|being)\b)"
)
# "I'll try to make it", "we'll do our best": coming, but not sure of it.
TRYING = re.compile(
    r"\b(ill|i will|well|we will|im going to|were going to|im gonna|were gonna|i can|we can) "
    r"(try|do (my|our) best|try (my|our) best|aim|try and)\b"
)
_CORRECTED_YES = re.compile(r"\bno\b.{0,12}\b(i mean|i meant|sorry i mean)\b.{0,6}\b(yes|yeah|yep)\b")
_NO_FIRST = re.compile(r"^(no|nope|nah|not really)\b")
# "Hold on", "let me check my calendar": they are thinking, not leaving.
_HOLD = re.compile(
    r"\b(hold on|hang on|one (sec|second|moment|minute)|just a (sec|second|moment|minute)|"
    r"give me a (sec|second|moment|minute)|let me (check|look|see|think)|(checking|looking at) my "
    r"(calendar|schedule)|wait a (sec|second|moment|minute))\b"
)
# Never call this number again.
_STOP_CALLS = re.compile(
    r"\b(stop calling|quit calling|(dont|do not|never) call (me|us|this number|here)|"
    r"take (me|us|this number) off|remove (me|us|this number|my number)|do not call list|"
    r"dont call list|no more (calls|reminders|reminder calls)|(dont|do not) want (these|any) "
    r"(calls|reminders))\b"
)
# "Call me back tomorrow / later / in an hour": a call-back, not a new day for the appointment.
_CALL_BACK = re.compile(
    r"\b(call (me |us )?back|call (me |us )?(again )?(later|tomorrow|tonight|in an? )|"
    r"try (me )?(again )?later|ring (me )?back)\b"
)
_LATE = re.compile(
    r"\b(be|running|run|come|arrive|get there) (a (few|little|bit) |about |around |maybe )?"
    r"(\w+ )?(minutes? |mins? )?(late|behind)\b"
)
# "9:30, right?" / "that's at 9:30, isn't it?": checking the time, not asking for another.
_CHECKING = re.compile(
    r"(\bright|\bcorrect|\bisnt it|\bis that right|\byeah)$|"
    r"^((oh |so |wait )?(its|thats|it was|wasnt it|is it|is that|was it|isnt it))\b|"
    # "yeah, is it still at 10?", "oh I thought it was at 11": what they remember, asked or told
    r"\b(is|was|isnt) (it|that|this|the appointment) still (at|on|for)\b|"
    r"\bi (thought|think|figured) (it was|its|it is|that was|thats|we were|we had it)\b"
)
# "10 instead of 9": the first time is the one they want.
_INSTEAD = re.compile(
    r"\b(?:at |for |be |make it |do )?([\w:]+(?: ?[ap]m)?|noon) (?:instead of|rather than) "
    r"[\w:]+(?: ?[ap]m)?\b"
)
_LOANER = re.compile(r"\b(loaner|loan car|courtesy car|rental|ride|shuttle)\b")
# A loaner for this visit, asked for ("can I get a loaner?", "I'll need a courtesy car") or given back ("I won't need
# the loaner", "cancel the loaner"); "do you have loaners?" asks, and is answered from the shop's facts.
_A_LOANER = r"(a |the |my |one of (the |your )?|your )?(loaner|loan|courtesy|rental)( car| vehicle)?s?\b"
_LOANER_GIVEN_BACK = re.compile(
    r"\b((wont|dont|do not|will not|no longer|not going to|doesnt|wouldnt) (really )?(need|want|use|require|be needing|"
    r"be using)( a| the)?|(cancel|drop|skip|forget( about)?|no need for|give back|return|take off|nevermind|never mind)"
    r")( a| the| my)? (loaner|loan|courtesy|rental)( car| vehicle)?\b|\bno (loaner|courtesy car|rental)\b"
)
_LOANER_WANTED = re.compile(
    r"\b((can|could|may|will) (i|we)( please| also)? (get|have|borrow|book|reserve|grab|use|take)|"
    r"(i|we)(ll| will|d| would)?( also| really)? (need|want|like)|"
    r"(reserve|book|get|set|line|hook|sort) (me|us)( up)?( with)?|put (me|us) down for|"
    r"(can|could) (you|yall)( please)? (reserve|book|get|set|line|hook)( me| us)?( up)?( with)?) " + _A_LOANER
)
# "what?", "huh", "hello?": they didn't hear who is calling.
_HUH = re.compile(r"^(what|huh|sorry|pardon|hello|hello hello|excuse me|come again|say that again|who)$")
_ASKS = {
    "what": re.compile(
        r"\b(what(s| is) it for|what was it for|what(s| is) (this|that) for|what (service|work)|"
        r"what am i (coming|getting)|what appointment|remind me what)\b"
    ),
    "when": re.compile(r"\b(what (day|time|date)|when) (is|was) (it|that|the appointment)\b"),
    "car": re.compile(r"\b(which|what) (car|vehicle|truck)\b"),
    "duration": re.compile(r"\bhow long\b"),
    "price": re.compile(r"\b(how much|cost|costs|price|pricing|charge|what (does|do|would|will) (\w+ ){1,3}run)\b"),
    "human": re.compile(
        r"\b(is this|are you|am i talking to) (a )?(real person|robot|machine|computer|bot|human|"
        r"recording|ai|person)\b"
    ),
}


# A clear request for more work on this visit: "add", "also do", "while it's there", "can you check".
_ADD_ASK = re.compile(
    r"\b(add|adding|also|too|as well|throw in|tack on|while (its|it is|youre|you are|you have it)|"
    r"(can|could|would|will) (you|yall|you guys) (also )?(do|check|look at|get|take care of|fit in|put in)|"
    r"(i|we) (also )?(need|want|would like)|(id|wed) (also )?like|can (i|we) (also )?(get|add|have))\b"
)
# Just before the service's words: "I don't need an oil change", "no tire rotation", "instead of the brakes".
_REFUSED_BEFORE = re.compile(
    r"\b(dont|do not|doesnt|does not|wont|no longer|not|no|without|skip|instead of|rather than|"
    r"take off|remove|drop)\b(?: \w+){0,3} ?$"
)
# About a visit that is over: "you did my brakes last time", "I had the alignment done in May".
_PAST_VISIT = re.compile(
    r"\b(last time|last (week|month|year|visit)|you (guys )?(did|fixed|replaced|changed)|already (had|did|done|got)|"
    r"had (it|them|the \w+|my \w+) (done|fixed|replaced)|ago)\b"
)


def services_asked_for(text: str, named: list) -> list:
    """The services (of `named`, find_services' ServiceMatch list) the caller asks to have done on this visit:
    a clear request ("and can you also do a tire rotation"), not refused ("I don't need an oil change") and not
    about a past visit ("you did my brakes last time"). A service merely mentioned is never a request."""
    said = nlu.normalize(text)
    if not _ADD_ASK.search(said) or _PAST_VISIT.search(said):
        return []
    return [m.service for m in named if not _REFUSED_BEFORE.search(said[: m.start].strip())]


_CANCEL_SAID = re.compile(r"\b(cancel|cancell?ed|cancelling|canceling)\b")
# Asking for another time: "can we reschedule?", "move it to Friday", "another day".
_MOVE_ASK = re.compile(
    r"\b(reschedule|rebook|move (it|this|that|the appointment)|push (it|this|that)|(another|different|other) "
    r"(day|time|date)|some other (day|time))\b"
)
# A new time left for later, by the caller: "I'll call back to reschedule", "I'll reschedule when I know".
_MOVE_LATER = re.compile(
    r"\b((ill|i will|we will|well|i can|let me) (give you a )?call (you |u )?(guys )?back|"
    r"(ill|i will|well|we will) (call|get back|reach out)|reschedule (it )?(later|myself|another time|when|once|"
    r"some other time)|(ill|i will|well|we will|let me|ill have to|i have to|i need to|i gotta) give (you|yall|u) "
    r"(guys )?a (call|ring))\b"
)


# "a tire rotation instead of the brake inspection", "swap the brake inspection for a tire rotation".
_INSTEAD_OF = re.compile(r"\b(instead of|rather than|in place of)\b")
_SWAP = re.compile(r"\b(swap|switch|change|replace|trade)\b(.*?)\b(for|with|to|into)\b")


def swap_asked(text: str, named: list) -> tuple[list, list]:
    """(services to take off, services to put on) when the caller asks for one service in place of another on
    the same visit; ([], []) when they do not. `named`: find_services' ServiceMatch list for the same text."""
    said = nlu.normalize(text)
    swap = _SWAP.search(said)
    if swap is not None:
        old = [m.service for m in named if swap.start(2) <= m.start < swap.end(2)]
        new = [m.service for m in named if m.start >= swap.end()]
        if old and new:
            return old, new
    instead = _INSTEAD_OF.search(said)
    if instead is None:
        return [], []
    before = [m.service for m in named if m.start < instead.start()]
    after = [m.service for m in named if m.start >= instead.end()]
    if before and after:  # "a tire rotation instead of the brake inspection"
        return after[:1], before
    if len(after) >= 2:  # "instead of the brake inspection, a tire rotation"
        return after[:1], after[1:]
    return [], []


# Taking a service off this visit: "skip the tire rotation", "we don't need the alignment", "take the brakes off",
# "just do the oil change" (the rest off). Just before the service's words, or "take ... off" around them.
_TAKE_OFF_BEFORE = re.compile(
    r"\b(skip|skipping|drop|dropping|remove|removing|take off|take out|leave off|leave out|forget( about)?|scratch|"
    r"nix|no need for|(dont|do not|wont|no longer) (need|want)|without)\b(?: \w+){0,2} ?$"
)
_NOT_NEEDED_BEFORE = re.compile(
    r"\b((dont|do not|wont|no longer) (need|want)|without|no need for|no)\b(?: \w+){0,2} ?$"
)
_NO_BEFORE = re.compile(r"\bno$")  # "no tire rotation this time" (not "no, the tire rotation is fine")
_TAKE_BEFORE = re.compile(r"\b(take|leave|knock)\b(?: \w+){0,2} ?$")
_OFF_AFTER = re.compile(r"^ ?(off|out)\b")
_ONLY_BEFORE = re.compile(
    r"\b(just|only)( (do|want|need|get|have|keep|be|go with|stick with))?( (the|an?|my|with))? ?$"
)


_REMOVAL_CUE = re.compile(
    r"\b(skip|skipping|drop|dropping|remove|removing|take|leave|forget|scratch|nix|no need|need|want|without|just|"
    r"only|no)\b"
)


def may_ask_removal(said: str) -> bool:
    """Cheap first look (normalized text): words that can take a service off a visit."""
    return bool(_REMOVAL_CUE.search(said))


def removal_asked(text: str, named: list, booked: list[str]) -> tuple[list[str], list]:
    """(codes of the visit's services to take off, services named to take off that are not on it) when the caller
    asks to take some off; ([], []) when they do not. `named`: find_services' ServiceMatch list for the same text;
    `booked`: the visit's service codes. "Skip the tire rotation and just do the oil change" and "just the oil
    change" both take the tire rotation off; a service both kept and dropped in one breath is no request."""
    said = nlu.normalize(text)
    gone: list[str] = []
    kept: list[str] = []
    absent: list = []
    for m in named:
        before, after = said[: m.start].strip(), said[m.end :]
        code = m.service.code
        took_off = _TAKE_OFF_BEFORE.search(before) or _NO_BEFORE.search(before)
        if took_off or (_TAKE_BEFORE.search(before) and _OFF_AFTER.search(after)):
            if code in booked:
                gone.append(code)
            elif not _NOT_NEEDED_BEFORE.search(before):
                absent.append(m.service)  # "drop the alignment" (not "I don't need an alignment": no request)
        elif _ONLY_BEFORE.search(before) and code in booked and not _CHECKING.search(said):
            kept.append(code)  # (not "it's just the oil change, right?": what they remember, asked)
    if set(gone) & set(kept):
        return [], []
    if kept and not gone:
        gone = [code for code in booked if code not in kept]  # "just the oil change": the rest comes off
    return list(dict.fromkeys(gone)), absent


def cancel_or_move(text: str) -> str:
    """ "cancel" or "move" when the line asks for one of them, else "". Said both ways, the last one wins ("cancel
    it. wait no, move it to Friday"); a move left for the caller to do later ("cancel it, I'll call back to
    reschedule") is a cancel."""
    said = nlu.normalize(text)
    cancel = [m.start() for m in _CANCEL_SAID.finditer(said)]
    move = [] if _MOVE_LATER.search(said) else [m.start() for m in _MOVE_ASK.finditer(said)]
    if not move:
        return "cancel" if cancel else ""
    return "move" if not cancel or move[-1] > cancel[-1] else "cancel"


# "yes. wait, no, can we do Friday instead?": a yes, then words that take it back; what follows them is the answer.
# "Wait" is a take-back as an interjection ("yes. wait,", "yeah wait no"), not as the verb ("can I wait there?").
# Read on the lowercased line with its punctuation as "|".
_TAKEN_BACK = re.compile(
    r"\b(yes|yeah|yep|yup|sure|ok|okay|fine|sounds good|that works|alright)\b.*?"
    r"(?P<back>\b(wait|hold on|hang on)( \||$| no\b| actually\b)|(?<!\w)(no|oh) (wait|hold on|hang on)\b|"
    r"\b(actually no|no actually|scratch that|on second thought)\b)(?P<rest>.*)$"
)
_TAKE_BACK_WORDS = re.compile(r"^((\||no|actually|wait|hold on|hang on|scratch that|on second thought)( |$))+")


# "Ok add them", "sure, put those on too": yes to adding what was just priced or offered.
ADD_IT = re.compile(
    r"\b(add|put|throw|tack) (it|them|that|those|one|em)\b|\b(add|put) (it|them|that|those) on\b|\bgo ahead and add\b"
)


def taken_back(text: str) -> str:
    """The words after a yes taken back ("yep. wait, no, I can't" -> "i can't"), or "" when no yes was. With
    nothing after them the take-back is the answer: "no" when it said no, else a "hold on"."""
    marked = re.sub(r"\s*[,.!?;:\u2026\u2014\u2013]+\s*|\s+-+\s+", " | ", text.lower()).strip()
    match = _TAKEN_BACK.search(marked)
    if match is None:
        return ""
    back, rest = match.group("back"), match.group("rest").strip()
    said_no = re.search(r"\bno\b", back)
    while True:
        words = _TAKE_BACK_WORDS.match(rest + " ")
        if words is None or not words.group(0).strip():
            break
        said_no = said_no or re.search(r"\bno\b", words.group(0))
        rest = rest[words.end() :].strip()
    rest = rest.replace(" | ", " ").strip(" |")
    if rest:
        return rest
    return "no" if said_no else "hold on"


# Not coming: "can't make it", "won't be able to come tomorrow", "not gonna make it", "something came up".
_NOT_COMING = re.compile(
    r"\b(cant|cannot|can not|wont|will not|not going to|not gonna|unable to|wont be able to|not able to) "
    r"(be able to )?(make it|come|be there|do it|do tomorrow|make tomorrow|get there|come in|bring it)\b|"
    r"\bsomething (came|has come) up\b"
)


def not_coming_will_call(text: str) -> bool:
    """ "Can't make it, I'll call you back": not coming, and they will ring to rebook (nothing cancelled, nothing
    moved yet)."""
    said = nlu.normalize(text)
    return bool(_NOT_COMING.search(said) and calls_back_themselves(said))


# The customer has died: "Daniel passed away", "my wife died last month", "he's no longer with us". "Died" only of a
# person (he, she, a relative, the customer's name): "the battery died" is a car's trouble.
_PASSED_AWAY = re.compile(
    r"\b(passed away|passed on|no longer with us|is deceased|has deceased|"
    r"(he|she) (recently |sadly )?passed(?! (the|her|his|a|an|it|inspection|emissions|smog|test|by)\b))\b"
)
_DIED = re.compile(
    r"\b(he|she|hes|shes|(my|our|her|his) (husband|wife|dad|father|mom|mother|son|daughter|partner|brother|sister|"
    r"grandpa|grandfather|grandma|grandmother|uncle|aunt)|{name}) (has |just |recently |sadly )?"
    r"(died|passed(?! (the|her|his|a|an|it|inspection|emissions|smog|test|by)\b))\b"
)


def passed_away(text: str, first_name: str = "") -> bool:
    """The person called about has died (said by whoever answered)."""
    said = nlu.normalize(text)
    if _PASSED_AWAY.search(said):
        return True
    name = re.escape(nlu.normalize(first_name)) if first_name.strip() else "(?!x)x"
    return bool(re.search(_DIED.pattern.replace("{name}", name), said))


# The caller has no English: "no hablo inglés", "¿español?", "me no speak English". Spanish words: answered in
# Spanish too.
_SPANISH = re.compile(
    r"\b(no hablo|hablo|habla|hablas|espa[nñ]ol|ingl[eé]s|no entiendo|por favor|se[nñ]or|se[nñ]ora|qui[eé]n)\b"
)
_NO_ENGLISH = re.compile(
    r"\b(no hablo|(hablo|habla|hablas|en) espa[nñ]ol|espa[nñ]ol|no ingl[eé]s|no entiendo|"
    r"(no|dont|do not|cant|cannot|not) (speak|understand|talk) (english|inglish)|no english|english no|"
    r"spanish (please|only)|only spanish|in spanish)\b"
)


def no_english(text: str) -> str:
    """ "es" when the caller says in Spanish that they have no English, "other" when they say it otherwise, else ""."""
    said = nlu.normalize(text)
    if not _NO_ENGLISH.search(said):
        return ""
    return "es" if _SPANISH.search(said) else "other"


def calls_back_themselves(text: str) -> bool:
    """ "I'll call back": the caller will ring us, which asks no call-back of the shop."""
    return bool(_MOVE_LATER.search(nlu.normalize(text)))


# Who picked up, when it is not the customer. Someone of theirs ("this is her son", "he's at work, can I take a
# message?") takes a message; a wrong number ("you have the wrong number", "there's no Daniel here") is no one of
# theirs at all: the number is flagged for staff, never the customer put on do-not-call.
THIRD_PARTY = re.compile(
    r"\b(this is (his|her|their) \w+|take a message|(he|she)s (at work|out|busy|asleep|sleeping|away|not available)|"
    r"(he|she) (is|is not) (at work|out|busy|asleep|away)|can i tell (him|her))\b"
)
_WRONG_NUMBER = re.compile(
    r"\b(wrong (number|person|house|guy)|(you have|youve got|you got|youve|you dialed|you called|you must have) "
    r"(the |a )?wrong\b|(no one|nobody|noone) (here |lives here |living here )?(by|named|called) |"
    r"no one here by that name|by that name here|"
    r"(this|that|it) (is not|isnt) (his|her|their|\w+s) (number|phone)|not (his|her|their) (number|phone))"
)
_NOT_IN = re.compile(
    r"\b((she|he)s not (here|home|in|available|around)|(she|he) (is not|isnt) (here|home|in|available|around))\b"
)
# No time to talk now: a call-back, not a wrong person ("this isn't a good time" is no "this isn't Daniel").
_BUSY = re.compile(
    r"\b(call (me )?(back )?later|(im|i am) (busy|driving|at work|in a meeting|working|in the car|on the road|"
    r"with a (customer|client|patient))|(cant|cannot) talk|bad time|(not|isnt|is not) a (good|great) time)\b"
)


def who_answered(said: str, name: str) -> str:
    """ "wrong_number", "not_in" (the customer's, but not there: "she's not home") or "" (the customer, or someone
    of theirs taking a message). `said` is normalized; `name` the customer's first name."""
    if THIRD_PARTY.search(said):
        return ""
    first = nlu.normalize(name)
    named = ""
    if first:
        named = (
            rf"\b((theres|there is|there s) no {first}|no {first} (here|at this number|lives here)|"
            rf"(this|it) (is not|isnt) {first}(?! s)|(im|i am) not {first}|(dont|do not) know (a|an|any|anyone named|"
            rf"anybody named) {first}|who is {first}|whos {first}|never heard of {first})\b"
        )
    if _WRONG_NUMBER.search(said) or (named and re.search(named, said)):
        return "wrong_number"
    if _NOT_IN.search(said):
        return "not_in"
    return ""


def busy_said(said: str) -> bool:
    """ "I'm driving", "this isn't a good time": no time to talk now (normalized text)."""
    return bool(_BUSY.search(said))


@dataclass
class ReminderAnswer:
    yes: bool = False  # they will come (a yes in any of its phone forms)
    hold: bool = False
    stop_calls: bool = False
    call_back: bool = False
    late: bool = False
    checking: bool = False  # "9:30, right?": a time they think it is
    instead: nlu.TimePref | None = None  # "10 instead of 9": the time they want
    loaner: bool = False
    loaner_change: str = ""  # "reserve" ("can I get a loaner?") or "release" ("I won't need the loaner")
    huh: bool = False
    asks: str = ""  # what, when, car, duration, price, human


def read_answer(text: str, now: datetime) -> ReminderAnswer:
    said = nlu.normalize(text)
    a = ReminderAnswer()
    agreed = _NO_PROBLEM.sub("yes", said)  # "not a problem at all", "no worries, we'll be there"
    a.yes = bool(_CORRECTED_YES.search(agreed) or (_YES.search(agreed) and not _NO_FIRST.search(agreed)))
    a.yes = a.yes and not _CONDITIONAL_YES.search(said)
    a.hold = bool(_HOLD.search(said))
    a.stop_calls = bool(_STOP_CALLS.search(said))
    a.call_back = bool(_CALL_BACK.search(said)) and not calls_back_themselves(said)
    a.late = bool(_LATE.search(said))
    a.checking = bool(_CHECKING.search(said))
    match = _INSTEAD.search(said)
    if match:
        a.instead = nlu.understand(match.group(1), now, expect_time=True).time
    a.loaner = bool(_LOANER.search(said))
    if _LOANER_GIVEN_BACK.search(said):
        a.loaner_change = "release"
    elif _LOANER_WANTED.search(said):
        a.loaner_change = "reserve"
    a.huh = bool(_HUH.match(said))
    a.asks = next((name for name, rx in _ASKS.items() if rx.search(said)), "")
    return a
