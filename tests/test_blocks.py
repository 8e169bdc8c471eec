"""Bot walls are caught (a real PerimeterX block, each provider's documented challenge) and the
real product pages in ``tests/pages`` are not, whatever a protected site's normal headers say."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from crawler.blocks import HTML_WINDOW, Block, detect

PAGES = Path(__file__).parent / "pages"
REAL_PAGES = sorted(p for p in PAGES.glob("**/*.html.gz") if "blocks" not in p.parts)

HTML = {"content-type": "text/html; charset=utf-8"}

# Headers a normal 200 page carries on sites behind each provider: cookies the provider sets on
# every visit, its CDN headers. None of them says "challenge".
NORMAL_HEADERS: dict[str, list[tuple[str, str]]] = {
    "plain": [("Content-Type", "text/html; charset=utf-8"), ("Server", "nginx")],
    "cloudflare": [
        ("content-type", "text/html; charset=utf-8"),
        ("server", "cloudflare"),
        ("cf-ray", "8a1b2c3d4e5f6a7b-LHR"),
        ("cf-cache-status", "DYNAMIC"),
        ("set-cookie", "__cf_bm=Zx9.abc; path=/; expires=Thu, 01-Jan-2026 00:30:00 GMT; HttpOnly"),
        ("set-cookie", "cf_clearance=q1w2e3; path=/; expires=Fri, 01-Jan-2027 00:00:00 GMT"),
    ],
    "akamai": [
        ("content-type", "text/html;charset=UTF-8"),
        ("server", "AkamaiGHost"),
        ("akamai-grn", "0.1a2b3c4d.1600000000.5e6f7a8b"),
        ("set-cookie", "_abck=0A1B2C~-1~YAAQ~-1~-1; Domain=.example.com; Path=/; Secure"),
        ("set-cookie", "bm_sz=9F8E7D; Domain=.example.com; Path=/; Max-Age=14400"),
    ],
    "datadome": [
        ("content-type", "text/html; charset=utf-8"),
        ("x-datadome", "protected"),
        ("set-cookie", "datadome=4a5b~6c; Max-Age=31536000; Domain=.example.com; Path=/; Secure"),
    ],
    "perimeterx": [
        ("content-type", "text/html; charset=utf-8"),
        ("set-cookie", "_pxhd=abc:def; Expires=Sat, 01 Jan 2028 00:00:00 GMT; path=/"),
        ("set-cookie", "_px3=1a2b3c; Expires=Sat, 01 Jan 2028 00:00:00 GMT; path=/"),
    ],
    "aws": [
        ("content-type", "text/html; charset=utf-8"),
        ("x-amzn-requestid", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
        ("x-cache", "Hit from cloudfront"),
        ("x-amz-cf-id", "AbCdEf=="),
        ("set-cookie", "aws-waf-token=1a2b3c:BgoA; Path=/; Secure"),
    ],
    "imperva": [
        ("content-type", "text/html; charset=utf-8"),
        ("x-cdn", "Incapsula"),
        ("x-iinfo", "10-123456-123456 NNNN CT(0 0 0) RT(1600000000000 0) q(0 0 0 -1) r(0 0) U6"),
        ("set-cookie", "visid_incap_123=abc; expires=Sat, 01 Jan 2028 00:00:00 GMT; path=/"),
    ],
}

# A login form's reCAPTCHA v3 and hCaptcha, as product pages include them.
LOGIN_FORM = """<form id="login" action="/account/login" method="post">
<input name="email"><input name="password" type="password">
<div class="h-captcha" data-sitekey="10000000-ffff-ffff-ffff-000000000001"></div>
<button>Sign in</button></form>
<script src="https://js.hcaptcha.com/1/api.js" async defer></script>
<script src="https://www.google.com/recaptcha/api.js?render=6LcCR2cUAAAAANS1Gpq_mDIJ2pQuJphsSQaUEuc"></script>
<script>grecaptcha.ready(function () {
  grecaptcha.execute('6LcCR2cUAAAAANS1Gpq_mDIJ2pQuJphsSQaUEuc', {action: 'login'});
});</script>"""


def read_page(path: Path) -> bytes:
    with gzip.open(path) as f:
        return f.read()


def har_response(path: Path) -> tuple[int, list[tuple[str, str]], str, str]:
    """(status, headers, body, url) of the first entry of a HAR file."""
    entry = json.loads(path.read_text(encoding="utf-8"))["log"]["entries"][0]
    response = entry["response"]
    headers = [(h["name"], h["value"]) for h in response["headers"]]
    return response["status"], headers, response["content"]["text"], entry["request"]["url"]


def test_the_real_pages_are_there() -> None:
    assert len(REAL_PAGES) >= 20, f"only {len(REAL_PAGES)} real pages under {PAGES}"


@pytest.mark.parametrize("kind", sorted(NORMAL_HEADERS))
def test_no_real_product_page_is_a_block(kind: str) -> None:
    for path in REAL_PAGES:
        body = read_page(path)
        block = detect(200, NORMAL_HEADERS[kind], body, "https://www.example.com/item/1")
        assert block is None, f"{path.name} with {kind} headers: {block}"


def test_the_real_walmart_perimeterx_block_with_status_200() -> None:
    status, headers, body, url = har_response(
        PAGES / "blocks/walmart.com_perimeterx-block_is-antibot.har.json"
    )
    assert status == 200
    block = detect(status, headers, body, url)
    assert block is not None
    assert block.provider == "perimeterx"
    assert "PerimeterX" in block.reason
    extracted = (PAGES / "blocks/walmart.com_perimeterx-block_body.html").read_bytes()
    assert detect(200, HTML, extracted, url) == block


def test_a_perimeterx_sensor_on_a_product_page_is_not_a_block() -> None:
    """The real Wayfair page carries PerimeterX's sensor snippet (window._pxAppId)."""
    wayfair = read_page(PAGES / "wayfair/wayfair.com_metascraper-shopping.html.gz")
    assert b"window._pxAppId" in wayfair[:HTML_WINDOW]
    url = "https://www.wayfair.com/furniture/pdp/penhook-armchair.html"
    assert detect(200, NORMAL_HEADERS["perimeterx"], wayfair, url) is None
    # The same page as the body of a 403 is PerimeterX refusing the request.
    block = detect(403, NORMAL_HEADERS["perimeterx"], wayfair, url)
    assert block is not None and block.provider == "perimeterx" and "403" in block.reason


CLOUDFLARE_CHALLENGE = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="robots" content="noindex,nofollow"><style>*{box-sizing:border-box;margin:0}</style>
</head><body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">www.example.com</h1>
<h2 class="h2" id="challenge-running">Checking if the site connection is secure</h2>
<noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies to
continue</span></div></noscript></div></div>
<script>(function(){window._cf_chl_opt={cvId: '3',cZone: "www.example.com",cType: 'managed',
cRay: '8a1b2c3d4e5f6a7b',cH: 'x.y-z'};var cpo = document.createElement('script');
cpo.src = '/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8a1b2c3d4e5f6a7b';
document.getElementsByTagName('head')[0].appendChild(cpo);}());</script></body></html>"""


def test_cloudflare_just_a_moment_challenge() -> None:
    headers = [*NORMAL_HEADERS["cloudflare"][:3], ("cf-mitigated", "challenge")]
    block = detect(403, headers, CLOUDFLARE_CHALLENGE, "https://www.example.com/item/1")
    assert block == Block("cloudflare", "Cloudflare: header cf-mitigated: challenge")
    # The older interstitial (503, no cf-mitigated header): the page's challenge options.
    block = detect(
        503, NORMAL_HEADERS["cloudflare"][:3], CLOUDFLARE_CHALLENGE, "https://a.example/"
    )
    assert block is not None and block.provider == "cloudflare" and "_cf_chl_opt" in block.reason
    # Served with 200 and without the options object, the title on a thin page still tells.
    title_only = CLOUDFLARE_CHALLENGE.replace("_cf_chl_opt", "_opt")
    block = detect(200, HTML, title_only, "https://a.example/")
    assert block is not None and block.provider == "cloudflare" and "thin page" in block.reason


def test_cloudflare_headers_on_a_tiny_page_are_not_a_block() -> None:
    tiny = "<!doctype html><html><head><title>Socks</title></head><body><p>Socks, 5 EUR</p></body></html>"
    assert detect(200, NORMAL_HEADERS["cloudflare"], tiny, "https://shop.example/socks") is None
    assert detect(404, NORMAL_HEADERS["cloudflare"], tiny, "https://shop.example/socks") is None


DATADOME_CAPTCHA = """<html><head><title>example.com</title><style>#cmsg{animation: A 1.5s;}
@keyframes A{0%{opacity:0;}99%{opacity:0;}100%{opacity:1;}}</style></head>
<body style="margin:0"><p id="cmsg">Please enable JS and disable any ad blocker</p>
<script data-cfasync="false">var dd={'rt':'c','cid':'AHrlqAAAAAMA1b2c3d4e5f6AAAAA==',
'hsh':'0123456789ABCDEF0123456789ABCD','t':'fe','s':12345,'e':'abcdef',
'host':'geo.captcha-delivery.com'}</script>
<script data-cfasync="false" src="https://ct.captcha-delivery.com/c.js"></script></body></html>"""


def test_datadome_captcha() -> None:
    headers = [*NORMAL_HEADERS["datadome"], ("x-datadome-cid", "AHrlqAAAAAMA1b2c3d4e5f6AAAAA==")]
    block = detect(403, headers, DATADOME_CAPTCHA, "https://www.example.com/item/1")
    assert block is not None and block.provider == "datadome"
    # The body alone (a 200 page, no DataDome headers) is the captcha all the same.
    block = detect(200, HTML, DATADOME_CAPTCHA, "https://www.example.com/item/1")
    assert block == Block("datadome", "DataDome: html contains 'captcha-delivery.com'")
    # DataDome's verdict header alone.
    block = detect(200, {"X-DD-B": "2"}, b"", "https://www.example.com/item/1")
    assert block is not None and block.provider == "datadome" and "x-dd-b" in block.reason


AKAMAI_DENIED = """<HTML><HEAD>
<TITLE>Access Denied</TITLE>
</HEAD><BODY>
<H1>Access Denied</H1>

You don't have permission to access "http&#58;&#47;&#47;www&#46;example&#46;com&#47;item&#47;1" on this server.<P>
Reference&#32;&#35;18&#46;5b2a2c17&#46;1600000000&#46;1a2b3c4d
<P>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;18&#46;5b2a2c17&#46;1600000000&#46;1a2b3c4d</P>
</BODY>
</HTML>"""


def test_akamai_access_denied() -> None:
    block = detect(403, {"Server": "AkamaiGHost"}, AKAMAI_DENIED, "https://www.example.com/item/1")
    assert block == Block("akamai", "Akamai: html contains 'Reference&#32;&#35;'")
    # Akamai's cookie on a refusal is a block too; on a normal page it is not (see above).
    block = detect(403, NORMAL_HEADERS["akamai"], "<html></html>", "https://www.example.com/")
    assert block is not None and block.provider == "akamai" and "_abck" in block.reason


AMAZON_CAPTCHA = """<!doctype html><html lang="en-gb" class="a-no-js"><head><meta charset="utf-8">
<title dir="ltr">Amazon.co.uk</title></head><body>
<!-- To discuss automated access to Amazon data please contact api-services-support@amazon.com. -->
<div class="a-container a-padding-double-large"><div class="a-box a-alert a-alert-info">
<h4>Enter the characters you see below</h4>
<p class="a-last">Sorry, we just need to make sure you're not a robot. For best results, please
make sure your browser is accepting cookies.</p></div>
<form method="get" action="/errors/validateCaptcha" name=""><input type=hidden name="amzn" value="x">
<h4>Type the characters you see in this image:</h4>
<img src="https://images-na.ssl-images-amazon.com/captcha/usvmgloq/Captcha_kwrrnqwkph.jpg">
<input id="captchacharacters" name="field-keywords" type="text"><button type="submit">Continue shopping</button>
</form></div>
<script>if (true === true) { var head = document.getElementsByTagName('head')[0],
prefix = "https://images-na.ssl-images-amazon.com/images/G/01/csminstrumentation/",
elem = document.createElement("script"); elem.src = prefix + "csm-captcha-instrumentation.min.js";
head.appendChild(elem); }</script></body></html>"""


def test_amazon_captcha() -> None:
    url = "https://www.amazon.co.uk/dp/B004SNMXRS"
    block = detect(200, HTML, AMAZON_CAPTCHA, url)
    assert block == Block("amazon", "Amazon: html contains 'csm-captcha-instrumentation'")
    without_script = AMAZON_CAPTCHA.replace("csm-captcha-instrumentation", "x")
    block = detect(200, HTML, without_script, url)
    assert block == Block("amazon", "Amazon: html contains 'Enter the characters you see below'")
    # The Amazon rules are Amazon's: the same words on another site are someone's page.
    assert detect(200, HTML, AMAZON_CAPTCHA, "https://www.amazon-fan.example/dp/1") is None


def test_aliexpress_punish_url() -> None:
    url = (
        "https://www.aliexpress.com/item/1005001234567890.html/_____tmd_____/punish"
        "?x5secdata=xd2a1b3c4d5e6f&x5step=1"
    )
    block = detect(200, HTML, "<html><body><div id='nocaptcha'></div></body></html>", url)
    assert block == Block(
        "aliexpress-captcha", "AliExpress CAPTCHA: url matches /punish\\?x5secdata/"
    )


GOOGLE_SORRY = """<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">
<title>https://www.google.com/search?q=socks</title></head>
<body><div style="max-width:400px;"><hr noshade size="1"><br>
<script src="https://www.google.com/recaptcha/api.js" async defer></script>
<form id="captcha-form" action="index" method="post">
<div id="recaptcha" class="g-recaptcha" data-sitekey="6LfwuyUTAAAAAOAmoS0fdqijC2PbbdH4kjq62Y1b"
data-callback="submitCallback" data-s="abc"></div><input type='hidden' name='q' value='EgQ'>
</form><hr noshade size="1"><div style="font-size:13px;"><b>About this page</b><br><br>
Our systems have detected unusual traffic from your computer network.</div></div></body></html>"""

HCAPTCHA_CHALLENGE = """<!doctype html><html><head><title>Verify you are human</title>
<script src="https://js.hcaptcha.com/1/api.js" async defer></script></head><body>
<form method="post" action="/challenge/verify"><p>Please complete the security check.</p>
<div class="h-captcha" data-sitekey="10000000-ffff-ffff-ffff-000000000001"></div>
<button type="submit">Continue</button></form></body></html>"""


def test_recaptcha_challenge_pages() -> None:
    block = detect(429, HTML, GOOGLE_SORRY, "https://www.google.com/sorry/index?continue=x")
    assert block == Block("recaptcha", "reCAPTCHA: html contains 'g-recaptcha'")
    # A 200 gate page that renders reCAPTCHA and shows little else.
    gate = "<html><body><p>Checking your browser.</p><div id='c'></div>" + LOGIN_FORM[-180:]
    block = detect(200, HTML, gate, "https://shop.example/item/1")
    assert block is not None and block.provider == "recaptcha" and "thin page" in block.reason


def test_hcaptcha_challenge_page() -> None:
    block = detect(200, HTML, HCAPTCHA_CHALLENGE, "https://shop.example/item/1")
    assert block is not None and block.provider == "hcaptcha" and "thin page" in block.reason


def test_a_login_form_captcha_on_a_product_page_is_not_a_block() -> None:
    """mediamarkt.pt loads Shopify's storefront reCAPTCHA; here it also gets a captcha'd login form."""
    page = read_page(PAGES / "shopify/mediamarkt.pt_4d2ce26fa4b8.html.gz").decode("utf-8")
    with_login = page.replace("<body", LOGIN_FORM + "<body", 1)
    assert with_login.index("grecaptcha.execute") < HTML_WINDOW
    assert detect(200, NORMAL_HEADERS["cloudflare"], with_login, "https://mediamarkt.pt/p") is None
    # The same form alone on a page is a captcha gate: the rules do fire on it.
    assert detect(200, HTML, LOGIN_FORM, "https://mediamarkt.pt/p") is not None


def test_only_the_first_256_kib_are_read() -> None:
    filler = "<p>" + "word " * (HTML_WINDOW // 5) + "</p>"
    marker = "<script>window._cf_chl_opt={cvId: '3'}</script>"
    assert detect(200, HTML, marker + filler, "https://a.example/") is not None
    assert detect(200, HTML, filler + marker, "https://a.example/") is None


def test_headers_as_scrapy_gives_them() -> None:
    """bytes names and values, a list of values per name, cookies joined with commas."""
    headers = {
        b"Content-Type": [b"text/html"],
        b"Set-Cookie": [b"a=1; expires=Thu, 01-Jan-2026 00:00:00 GMT, datadome=xyz; Path=/"],
    }
    block = detect(403, headers, b"", "https://www.example.com/")
    assert block == Block("datadome", "DataDome: cookie 'datadome=' set, with status 403")
    assert detect(403, {b"Set-Cookie": [b"a=datadome=1"]}, b"", "https://x.example/") is None


def test_status_rules_are_per_site() -> None:
    assert detect(999, {}, b"", "https://www.linkedin.com/in/someone") == Block(
        "linkedin", "LinkedIn: status 999"
    )
    assert detect(999, {}, b"", "https://www.example.com/") is None
    block = detect(403, HTML, b"<html></html>", "https://old.reddit.com/r/x")
    assert block is not None and block.provider == "reddit"


def test_every_rule_of_the_data_is_understood() -> None:
    """A rule shape this module does not know would be dropped silently; the count says so."""
    from importlib.resources import files

    from crawler.blocks import _EXTRA_PROVIDERS, _detections

    data = json.loads(files("crawler").joinpath("data/antibot-providers.json").read_text("utf-8"))
    providers = [*data["providers"], *_EXTRA_PROVIDERS]
    in_data = sum(len(d["rules"]) for p in providers for d in p["detections"])
    assert sum(len(d.rules) for d in _detections()) == in_data
