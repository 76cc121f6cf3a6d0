"""Refang, classify and extract: tables for the documented forms, properties for the rest."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intel.indicators import (
    MAX_PASTE_INDICATORS,
    Indicator,
    IndicatorType,
    InvalidIndicator,
    classify,
    classify_as,
    extract,
    refang,
)

IP, DOMAIN, URL, HASH = (
    IndicatorType.IP,
    IndicatorType.DOMAIN,
    IndicatorType.URL,
    IndicatorType.HASH,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hxxp://evil[.]example[.]com/a", "http://evil.example.com/a"),
        ("hxxps://evil(.)example{.}com", "https://evil.example.com"),
        ("HXXPS[:]//evil[.]example[.]com", "https://evil.example.com"),
        ("hxxps[://]evil[.]com", "https://evil.com"),
        ("198[.]51[.]100[.]23", "198.51.100.23"),
        ("user[at]evil[.]com", "user@evil.com"),
        ("user[@]evil[dot]com", "user@evil.com"),
        ("2001[:]db8[:][:]1", "2001:db8::1"),
        ("no defang here", "no defang here"),
    ],
)
def test_refang(text, expected):
    assert refang(text) == expected


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("198.51.100.23", "198.51.100.23", IP),
        ("198.51.100.23:8443", "198.51.100.23", IP),
        ("[2001:DB8::1]:443", "2001:db8::1", IP),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1", IP),
        ("Evil.Example.COM.", "evil.example.com", DOMAIN),
        ("evil[.]example[.]com", "evil.example.com", DOMAIN),
        ("bücher.example", "xn--bcher-kva.example", DOMAIN),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example", DOMAIN),
        ("faß.de", "xn--fa-hia.de", DOMAIN),  # IDNA 2008, not 2003's fass.de
        ("phisher@evil.example.com", "evil.example.com", DOMAIN),
        ("HTTP://Evil.Example.com:80/Path?q=1#frag", "http://evil.example.com/Path?q=1", URL),
        ("https://evil.example.com:8443", "https://evil.example.com:8443/", URL),
        ("hxxps://bücher.example/x", "https://xn--bcher-kva.example/x", URL),
        ("evil.example.com/login.php", "http://evil.example.com/login.php", URL),
        ("http://[2001:db8::1]:80/x", "http://[2001:db8::1]/x", URL),
        ("44D88612FEA8A8F36DE82E1F5C8EB5A5", "44d88612fea8a8f36de82e1f5c8eb5a5", HASH),
        (
            "3395856ce81f2b7382dee72602f798b642f14140",
            "3395856ce81f2b7382dee72602f798b642f14140",
            HASH,
        ),
        (
            "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
            "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
            HASH,
        ),
    ],
)
def test_classify(text, value, kind):
    assert classify(text) == Indicator(value, kind)


def test_hash_kinds():
    assert classify("a" * 32).hash_kind == "md5"
    assert classify("a" * 40).hash_kind == "sha1"
    assert classify("a" * 64).hash_kind == "sha256"
    assert classify("198.51.100.1").hash_kind is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "127.1",  # shorthand a browser would read as 127.0.0.1
        "2130706433",  # decimal IPv4
        "http://0x7f000001/",  # hex IPv4 host
        "256.1.1.1",
        "198.51.100.1:99999",
        "a..b",
        "-evil.com",
        "evil-.com",
        "evil.c0m1",
        "evil.123",
        "a" * 33,  # hex-ish but no hash length
        "g" * 32,
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://",
        "http://exa mple.com/",
        "http://evil.example.com/\x00",
        "x" * 64 + ".com",  # label longer than 63
        ".".join(["a" * 60] * 5),  # longer than 253
        "fe80::1%eth0",
        "xn--zz.example",  # an invalid A-label
        "http://" + "a" * 3000 + ".com/",
    ],
)
def test_invalid_input_is_refused_with_a_reason(text):
    with pytest.raises(InvalidIndicator) as caught:
        classify(text)
    assert str(caught.value)
    assert len(str(caught.value)) < 300  # a long input is not echoed back whole


def test_classify_as_insists_on_the_type():
    assert classify_as("198.51.100.1", IP).value == "198.51.100.1"
    with pytest.raises(InvalidIndicator, match="is a domain, not a ip"):
        classify_as("evil.example.com", IP)


PHISHING_MAIL = """
From: "IT Support" <helpdesk@phish[.]example[.]net>
Subject: Password expiry

Your password expires today. Log in at hxxps://login-portal[.]example[.]net/reset?u=bob
(or http://198.51.100.23:8080/reset). Attachment invoice.pdf, SHA256
275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F.
Relay: 203.0.113.66, internal hop 10.20.30.40, v6 2001:db8::bad.
Time 12:30:45, MAC aa:bb:cc:dd:ee:ff, version 1.2.3.4.5, see evil.example.com.
Again: 203.0.113.66 and EVIL.example.com.
"""


def test_extract_from_a_phishing_mail():
    found = extract(PHISHING_MAIL)
    assert [(i.value, i.type) for i in found.indicators] == [
        ("phish.example.net", DOMAIN),
        ("https://login-portal.example.net/reset?u=bob", URL),
        ("http://198.51.100.23:8080/reset", URL),
        ("275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", HASH),
        ("203.0.113.66", IP),
        ("10.20.30.40", IP),
        ("2001:db8::bad", IP),
        ("evil.example.com", DOMAIN),
    ]
    assert found.left_out == 0


def test_extract_keeps_the_first_hundred_and_counts_the_rest():
    text = "\n".join(f"198.51.100.{n} 203.0.113.{n}" for n in range(1, 101))
    found = extract(text)
    assert len(found.indicators) == MAX_PASTE_INDICATORS
    assert found.left_out == 100
    assert found.indicators[0].value == "198.51.100.1"
    assert found.indicators[1].value == "203.0.113.1"


def test_extract_trims_punctuation_around_urls():
    found = extract("see (https://evil.example.com/a_(b)). and <http://evil.example.org/x>, ok")
    assert [i.value for i in found.indicators] == [
        "https://evil.example.com/a_(b)",
        "http://evil.example.org/x",
    ]


def test_extract_nothing():
    assert extract("nothing to see here, just words and 12:00").indicators == ()


# Properties

_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_tld = st.sampled_from(["com", "net", "org", "example", "io", "xn--p1ai"])
domains = st.builds(
    lambda labels, tld: ".".join([*labels, tld]), st.lists(_label, min_size=1, max_size=4), _tld
)
ipv4s = st.ip_addresses(v=4).map(str)
ipv6s = st.ip_addresses(v=6).map(str)


def defang(text: str) -> str:
    return text.replace("http", "hxxp").replace(".", "[.]").replace("@", "[at]")


@given(domains)
def test_defanged_domains_refang_to_themselves(domain):
    assert classify(defang(domain)) == classify(domain)


@given(ipv4s)
def test_defanged_ipv4_refangs(ip):
    assert classify(defang(ip)) == Indicator(ip, IP)


@given(ipv6s)
def test_ipv6_is_canonical(ip):
    assert classify(ip).value == ipaddress.ip_address(ip).compressed
    assert classify(f"[{ip}]:443").value == ipaddress.ip_address(ip).compressed


@given(domains, st.from_regex(r"(/[a-zA-Z0-9_.~-]{0,10}){0,3}", fullmatch=True))
def test_urls_refang_and_are_idempotent(domain, path):
    url = f"https://{domain}{path}"
    first = classify(defang(url))
    assert first.type is URL
    assert classify(first.value) == first


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30))
def test_unicode_domains_are_stable_under_idna(text):
    try:
        first = classify(text + ".example")
    except InvalidIndicator:
        return
    assert first.value.isascii()
    assert classify(first.value) == first


@given(
    st.lists(st.one_of(ipv4s, domains), min_size=1, max_size=30),
    st.sampled_from([" ", "\n", ", ", "; "]),
)
def test_extract_finds_every_indicator_once(values, separator):
    text = separator.join(defang(v) for v in values + values)
    found = [i.value for i in extract(text).indicators]
    expected = list(dict.fromkeys(classify(v).value for v in values))
    assert found == expected


@settings(max_examples=300)
@given(st.text(max_size=400))
def test_extract_never_raises_on_arbitrary_text(text):
    found = extract(text)
    assert len(found.indicators) <= MAX_PASTE_INDICATORS
    for indicator in found.indicators:
        assert classify(indicator.value) == indicator


def test_a_domain_that_starts_like_an_address_is_a_domain():
    # Found by hypothesis: "0.0.0.0.com" came back as the address 0.0.0.0.
    assert [i.value for i in extract("see 0.0.0.0.com now").indicators] == ["0.0.0.0.com"]
    assert [i.value for i in extract("ip 1.2.3.4. Next").indicators] == ["1.2.3.4"]
