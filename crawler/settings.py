"""Scrapy settings for listingguard's crawler: polite defaults that config.toml may override per marketplace.

Marketplaces ban crawlers that hammer them, and a brand owner's crawler must be one a platform
would accept: robots.txt obeyed, few requests at once, a delay, and an honest user agent.
``listingguard sweep`` adds the owner's contact to the user agent, the marketplace's overrides,
the evidence file and the store pipeline (``listingguard/crawl.py``).
"""

BOT_NAME = "listingguard"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = (
    "listingguard (brand protection crawler; +https://github.com/listingguard/listingguard)"
)
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
# A callback yields a listing or a handful of requests; Scrapy starts this many workers per
# response to process its output, and the default of 100 costs more than the parsing.
CONCURRENT_ITEMS = 16
# Scrapy reads every callback's source to warn about generators that return values; not needed.
WARN_ON_GENERATOR_RETURN_VALUE = False
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # each delay varies by up to ±50%, as a person browsing would
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 3
# 429 and 503 are how marketplaces say "slow down"; Scrapy's retry backs off with AutoThrottle.
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
DNS_TIMEOUT = 20
# No control ports: a crawler that reads hostile pages listens on nothing.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
COOKIES_ENABLED = False
REDIRECT_MAX_TIMES = 5

# Only http and https: a hostile page must not make the crawler read file:// or data: URLs.
DOWNLOAD_HANDLERS = {"file": None, "s3": None, "ftp": None, "data": None}
TWISTED_DNS_RESOLVER = "crawler.middlewares.GuardedResolver"
LG_ALLOW_PRIVATE = False

DOWNLOADER_MIDDLEWARES = {
    # After robots.txt (100), before anything is downloaded: refuse non-public addresses.
    "crawler.middlewares.AddressGuard": 150,
    # Responses pass middlewares from high to low numbers. Evidence runs first, above redirects
    # (600) and decompression (590): every answer is kept as it arrived, redirect hops too.
    "crawler.middlewares.Evidence": 650,
    # On the decoded page, before retries (550): spot bot walls; back off on 429 and 503.
    "crawler.middlewares.BotWall": 580,
    "crawler.middlewares.SlowDown": 560,
}
ITEM_PIPELINES = {
    "crawler.pipelines.CleanListing": 100,
}
