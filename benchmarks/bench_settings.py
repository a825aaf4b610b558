"""Settings of the api_overhead benchmark: the product's settings plus a urlconf with one bare view."""

from metastudio.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.bench_urls"
