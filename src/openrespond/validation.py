"""Normalising and checking emails, phones, language and country codes, and URLs."""

from __future__ import annotations

import re

import phonenumbers

from openrespond.errors import BadRequest

__all__ = [
    "ASCII_SPACE",
    "COUNTRY_CODES",
    "E164_PATTERN",
    "EMAIL_PATTERN",
    "LANGUAGE_CODES",
    "NON_BLANK",
    "URL_PATTERN",
    "clean",
    "normalize_country_code",
    "normalize_email",
    "normalize_language",
    "normalize_phone",
    "normalize_url",
]

EMAIL_MAX = 254
# Blank means ASCII whitespace only: the same rule in Python, msgspec and JSON Schema regexes.
ASCII_SPACE = " \t\n\r\f\v"
NON_BLANK = r"[^ \t\n\r\f\v]"
# Also published in the OpenAPI document, so clients and fuzzers know the rule.
URL_PATTERN = r"^https?://[^ \x00-\x1f\x7f/?#]+[^ \x00-\x1f\x7f]*(?!\n)$"
_URL = re.compile(URL_PATTERN)
E164_PATTERN = r"^\+[1-9][0-9]{6,14}(?!\n)$"
_E164 = re.compile(E164_PATTERN)
_PHONE_NOISE = re.compile(r"[\s().-]")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# "(?!\n)$": the end of the text in both Python and ECMAScript regexes (Python's $ would
# also match before a final newline).
_END = r"(?!\n)$"
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+{_END}"
LOCAL_PART_MAX = 64
_EMAIL = re.compile(EMAIL_PATTERN)


_LANGUAGE_CODES_TEXT = """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr
    ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
    ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv
    ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
    ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zh zu
"""
LANGUAGE_CODES = frozenset(_LANGUAGE_CODES_TEXT.split())

_COUNTRY_CODES_TEXT = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES = frozenset(_COUNTRY_CODES_TEXT.split())


def clean(text: str) -> str:
    """``text`` without surrounding ASCII whitespace."""
    return text.strip(ASCII_SPACE)


def normalize_email(value: str, *, field: str = "email", lookup: bool = False) -> str:
    """The address in lower case; 400 naming ``field`` when it is not an email address.

    A ``lookup`` only needs the address's shape: one whose local part is longer than an
    address may have cannot be stored, so it simply finds nothing.
    """
    email = value.lower()
    if len(email) > EMAIL_MAX or not _EMAIL.fullmatch(email):
        raise BadRequest(f"{field} is not a valid email address: {_show(value)}")
    if not lookup and len(email.partition("@")[0]) > LOCAL_PART_MAX:
        raise BadRequest(f"{field}: the part before @ is longer than {LOCAL_PART_MAX} characters")
    return email


def normalize_phone(value: str, *, field: str = "phone", region: str | None = None) -> str:
    """E.164 form of a phone number; 400 naming ``field`` when it cannot be one.

    Spaces, dashes, dots and parentheses are dropped. A number without ``+`` is read in
    ``region`` when one is known. libphonenumber then normalises what it recognises (a
    national trunk prefix such as ``+44 (0)20`` goes); a syntactically valid E.164 number it
    does not recognise is kept as written rather than refused, since numbering plans change
    faster than the library's metadata.
    """
    raw = value.strip()
    compact = _PHONE_NOISE.sub("", raw)
    if not compact.startswith("+"):
        if region is None or not compact.isdigit():
            raise BadRequest(f"{field} must be in E.164 format with a leading +: {_show(value)}")
        try:
            number = phonenumbers.parse(compact, region)
        except phonenumbers.NumberParseException:
            raise BadRequest(f"{field} is not a valid phone number: {_show(value)}") from None
        compact = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    try:
        number = phonenumbers.parse(raw if raw.startswith("+") else compact, None)
        if number.extension:
            # E.164 has no extensions: storing the number without it would reach someone else.
            raise BadRequest(
                f"{field} has an extension ({number.extension[:16]}), which E.164 numbers"
                f" cannot carry: {_show(value)}"
            )
        if phonenumbers.is_possible_number(number):
            compact = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    if not _E164.fullmatch(compact):
        raise BadRequest(
            f"{field} is not an E.164 phone number (+ and 7-15 digits): {_show(value)}"
        )
    return compact


def normalize_language(value: str, *, field: str = "language") -> str:
    """An ISO 639-1 code, written lower-case as the standard does (``en``)."""
    if value not in LANGUAGE_CODES:
        raise BadRequest(
            f"{field} must be a lower-case ISO 639-1 language code such as 'en', got {_show(value)}"
        )
    return value


def normalize_country_code(value: str, *, field: str = "countryCode") -> str:
    """An ISO 3166-1 alpha-2 code, written upper-case as the standard does (``MY``)."""
    if value not in COUNTRY_CODES:
        raise BadRequest(
            f"{field} must be an upper-case ISO 3166-1 alpha-2 country code such as 'MY', got {_show(value)}"
        )
    return value


def normalize_url(value: str, *, field: str) -> str:
    """An absolute http(s) URL with a host and no spaces or control characters."""
    if not _URL.fullmatch(value):
        raise BadRequest(f"{field} must be an absolute http(s) URL, got {_show(value)}")
    return value


def _show(value: str) -> str:
    return repr(value if len(value) <= 64 else value[:61] + "...")
