"""The Scrapy project: spiders that fetch marketplace listings, pipelines that validate and store them."""
