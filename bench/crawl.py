"""Benchmark: extraction on real pages, crawl throughput on the demo market, a big sweep's memory.

    python bench/crawl.py [--only extraction|throughput|memory] [--listings 2000] [--big 10000]

Extraction: every real page with ground truth in ``tests/pages`` (bench/extraction.py), beside
extruct + price-parser alone. Throughput: the demo market on 127.0.0.1 with ``--listings``
procedural listings of 3 images each, delays off; ``listingguard.crawl`` (evidence to WARC,
the store, image checks) is timed beside a bare Scrapy spider that fetches the same pages and
images and keeps nothing, in the same run. Memory: a whole sweep (crawl and matching) of
``--big`` listings, peak resident memory of the crawl process and of the sweep process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BARE_SPIDER = '''
import sys, scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.linkextractors import LinkExtractor

class Bare(scrapy.Spider):
    """The same pages and images as the real crawl: search pages, listing pages, 3 images each."""
    name = "bare"
    start_urls = [sys.argv[1]]
    links = LinkExtractor(allow=("/jsonld/item/",))
    def parse(self, response):
        for link in self.links.extract_links(response):
            yield scrapy.Request(link.url, self.parse_item)
        nxt = response.css("link[rel~=next]::attr(href)").get()
        if nxt:
            yield response.follow(nxt, self.parse)
    def parse_item(self, response):
        import json as j
        for s in response.css('script[type="application/ld+json"]::text').getall():
            data = j.loads(s)
            for d in (data if isinstance(data, list) else [data]):
                imgs = d.get("image") or [] if isinstance(d, dict) else []
                for u in (imgs if isinstance(imgs, list) else [imgs]):
                    yield scrapy.Request(u, self.parse_image)
        yield {"url": response.url}
    def parse_image(self, response):
        return None

p = CrawlerProcess({"LOG_LEVEL": "ERROR", "CONCURRENT_REQUESTS": 16,
                    "CONCURRENT_REQUESTS_PER_DOMAIN": 8, "ROBOTSTXT_OBEY": True,
                    "TELNETCONSOLE_ENABLED": False, "REMOTE_CONTROL_ENABLED": False})
crawler = p.create_crawler(Bare)
p.crawl(crawler)
p.start()
stats = crawler.stats.get_stats()
print(stats.get("item_scraped_count", 0), stats.get("downloader/response_count", 0))
'''


def extraction() -> dict:
    import extraction as ex

    print("== Extraction on real pages (tests/pages, ground truth from the PEB subset)")
    totals = ex.run(ROOT / "tests" / "pages")
    ex._print(totals, "python bench/extraction.py")
    return totals


def _workspace(base: str, directory: Path, only: str = "demo-jsonld") -> Path:
    """A workspace whose config sweeps one demo marketplace at ``base``, with the catalogue."""
    from listingguard.demo import build

    result = build(directory)
    result.workspace.close()
    config = directory / "config.toml"
    text = config.read_text("utf-8").replace("http://127.0.0.1:8700", base)
    text = text.replace("max_pages = 50 ", "max_pages = 100000 ")  # every page of a big market
    for name in ("demo-html", "demo-shopify", "demo-woo"):
        if name != only:
            text = text.replace(
                f"[marketplaces.{name}]", f"[marketplaces.{name}]\nenabled = false", 1
            )
    config.write_text(text, "utf-8")
    return config


def throughput(listings: int) -> dict:
    from listingguard.demo import catalogue_source
    from listingguard.demo.market import DemoMarket
    from listingguard.store import open_store

    print(f"\n== Crawl throughput: {listings} extra demo listings, 3 images each, delays off")
    with (
        DemoMarket(catalogue_source(), extra=listings) as market,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = _workspace(market.base_url, Path(tmp) / "ws")
        start_url = market.base_url + "/jsonld/search?q=luma"
        bare_script = Path(tmp) / "bare_spider.py"  # a file: Scrapy reads callbacks' source
        bare_script.write_text(BARE_SPIDER, "utf-8")
        t0 = time.perf_counter()
        bare_out = subprocess.run(
            [sys.executable, str(bare_script), start_url],
            check=True,
            capture_output=True,
            text=True,
        )
        bare = time.perf_counter() - t0
        bare_items, bare_responses = (int(x) for x in bare_out.stdout.split()[-2:])
        db = open_store(Path(tmp) / "ws" / "listingguard.db")
        sweep_id = int(
            db["sweeps"].insert({"marketplace": "demo-jsonld", "started_at": "now"}).last_pk
        )
        db.conn.commit()
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "listingguard.crawl", "--config", str(config),
             "--marketplace", "demo-jsonld", "--sweep", str(sweep_id)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        ours = time.perf_counter() - t0
        stored = db.execute(
            "SELECT COUNT(*) FROM listings WHERE sweep_id = ?", [sweep_id]
        ).fetchone()[0]
        images = db.execute(
            "SELECT COUNT(*) FROM captures WHERE sweep_id = ? AND kind = 'image'", [sweep_id]
        ).fetchone()[0]
        summary = json.loads(out.stdout.strip().splitlines()[-1])
    rate, bare_rate = stored / ours, bare_items / bare
    print(
        f"listingguard crawl: {stored} listings, {images} image captures in {ours:.1f} s = {rate:.0f} listings/s"
    )
    print(
        f"bare Scrapy crawl : {bare_items} listings, {bare_responses} responses in {bare:.1f} s "
        f"= {bare_rate:.0f} listings/s"
    )
    print(f"ratio ours / bare : {rate / bare_rate:.2f}  (requests {summary['requests']})")
    print(f"target >= 100 listings/s: {'met' if rate >= 100 else 'missed'} ({rate:.0f})")
    return {"listings": stored, "seconds": ours, "rate": rate, "bare_rate": bare_rate}


def memory(listings: int) -> dict:
    from listingguard.demo import catalogue_source
    from listingguard.demo.market import DemoMarket

    print(f"\n== A whole sweep (crawl + matching) of {listings} extra listings: peak memory")
    with (
        DemoMarket(catalogue_source(), extra=listings) as market,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = _workspace(market.base_url, Path(tmp) / "ws")
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c",
             "import resource, sys\nfrom listingguard.cli import cli\n"
             "try:\n    cli(['sweep', '--quiet', '--json', '--config', sys.argv[1]])\n"
             "except SystemExit:\n    pass\n"
             "self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
             "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
             "print('PEAK', self, kids)", str(config)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
    peak_line = next(line for line in proc.stdout.splitlines() if line.startswith("PEAK"))
    _, own, kids = peak_line.split()
    summary = json.loads(proc.stdout[: proc.stdout.index("PEAK")])
    stored = sum(m["listings"] for m in summary["marketplaces"])
    own_mb, kids_mb = int(own) / 1024, int(kids) / 1024
    print(f"{stored} listings swept in {seconds:.0f} s; {summary['new_findings']} new findings")
    print(
        f"peak RSS: sweep process {own_mb:.0f} MB, largest child (crawl or matcher) {kids_mb:.0f} MB"
    )
    worst = max(own_mb, kids_mb)
    print(f"target < 600 MB peak: {'met' if worst < 600 else 'missed'} ({worst:.0f} MB)")
    return {"listings": stored, "seconds": seconds, "own_mb": own_mb, "child_mb": kids_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("extraction", "throughput", "memory"))
    parser.add_argument("--listings", type=int, default=2000)
    parser.add_argument("--big", type=int, default=10000)
    args = parser.parse_args()
    print("command: python bench/crawl.py " + " ".join(sys.argv[1:]))
    if args.only in (None, "extraction"):
        extraction()
    if args.only in (None, "throughput"):
        throughput(args.listings)
    if args.only in (None, "memory"):
        memory(args.big)


if __name__ == "__main__":
    main()
