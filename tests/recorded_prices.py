"""Recorded GetProducts and Bedrock responses for the live-price and live-check tests.

HAND-WRITTEN, not captured from AWS: each price document follows the documented PriceList shape of
``pricing:GetProducts`` (``product`` with ``sku``, ``productFamily`` and ``attributes``;
``serviceCode``; ``terms.OnDemand.<sku>.<offer term>.priceDimensions.<rate code>`` with ``unit``,
``description``, ``beginRange``, ``endRange`` and ``pricePerUnit.USD`` as a string; ``version``;
``publicationDate``), and the AmazonBedrock attribute names and usage-type patterns public code
reads (``usagetype`` ``USE1-<model>-Customization-Training`` / ``-Customization-Storage`` /
``-ProvisionedThroughput-NoCommit-ModelUnits``; ``inferenceType`` ``Input tokens``; ``model``;
``regionCode``). Those AmazonBedrock attribute values are UNCONFIRMED by any AWS document, and the
dollar figures are illustrative, not AWS's prices.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final

REGION: Final = "us-east-1"
FETCHED: Final = dt.date(2026, 11, 28)
NOVA_MICRO: Final = "amazon.nova-micro-v1:0:128k"
NOVA_2_LITE: Final = "amazon.nova-2-lite-v1:0:256k"

# Illustrative figures the tests assert on (tests tell a live figure from the catalog's by its source).
TRAINING_PER_1K: Final = 0.001
STORAGE_PER_MONTH: Final = 1.95
PT_NO_COMMIT_PER_HOUR: Final = 60.5
PT_ONE_MONTH_PER_HOUR: Final = 48.0
INPUT_PER_1K: Final = 0.000035
OUTPUT_PER_1K: Final = 0.00014
NOVA_2_LITE_PT_PER_HOUR: Final = 72.0
DEPLOYMENT_INPUT_PER_1K: Final = 0.00028
DEPLOYMENT_OUTPUT_PER_1K: Final = 0.0024


def product(
    sku: str,
    usagetype: str,
    usd: str,
    unit: str,
    description: str,
    *,
    region: str = REGION,
    family: str = "Amazon Bedrock",
    **attributes: str,
) -> str:
    """One PriceList entry (a JSON string, as GetProducts returns it) in the documented shape."""
    term = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {
                "productFamily": family,
                "attributes": {
                    "servicecode": "AmazonBedrock",
                    "servicename": "Amazon Bedrock",
                    "regionCode": region,
                    "location": "US East (N. Virginia)" if region == "us-east-1" else "US West (Oregon)",
                    "locationType": "AWS Region",
                    "usagetype": usagetype,
                    "operation": "Usage",
                    **attributes,
                },
                "sku": sku,
            },
            "serviceCode": "AmazonBedrock",
            "terms": {
                "OnDemand": {
                    term: {
                        "priceDimensions": {
                            f"{term}.6YS6EN2CT7": {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": description,
                                "appliesTo": [],
                                "rateCode": f"{term}.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261120000000",
            "publicationDate": "2026-11-20T00:00:00Z",
        }
    )


PAGE_1: Final = [
    product(
        "NMTRAIN0001",
        "USE1-NovaMicro-Customization-Training",
        f"{TRAINING_PER_1K:.10f}",
        "1K tokens",
        "$0.001 per 1,000 tokens for model customization training of Nova Micro",
        model="Nova Micro",
    ),
    product(
        "NMSTORE0001",
        "USE1-NovaMicro-Customization-Storage",
        f"{STORAGE_PER_MONTH:.10f}",
        "Month",
        "$1.95 per custom model per month for Nova Micro",
        model="Nova Micro",
    ),
    product(
        "NMPTNC00001",
        "USE1-NovaMicro-ProvisionedThroughput-NoCommit-ModelUnits",
        f"{PT_NO_COMMIT_PER_HOUR:.10f}",
        "Hrs",
        "$60.50 per model unit per hour, no commitment, for Nova Micro",
        model="Nova Micro",
    ),
    product(
        "NMPT1M00001",
        "USE1-NovaMicro-ProvisionedThroughput-1Month-ModelUnits",
        f"{PT_ONE_MONTH_PER_HOUR:.10f}",
        "Hrs",
        "$48.00 per model unit per hour, 1-month commitment, for Nova Micro",
        model="Nova Micro",
    ),
    # On-demand rates, in-Region: the plain ones; the batch and cross-Region ones are not used.
    product(
        "NMIN0000001",
        "USE1-NovaMicro-input-tokens",
        f"{INPUT_PER_1K:.10f}",
        "1K tokens",
        "$0.000035 per 1K input tokens for Nova Micro",
        model="Nova Micro",
        inferenceType="Input tokens",
        feature="On-demand Inference",
    ),
]
PAGE_2: Final = [
    product(
        "NMOUT000001",
        "USE1-NovaMicro-output-tokens",
        f"{OUTPUT_PER_1K:.10f}",
        "1K tokens",
        "$0.00014 per 1K output tokens for Nova Micro",
        model="Nova Micro",
        inferenceType="Output tokens",
        feature="On-demand Inference",
    ),
    # A custom Nova Micro model's on-demand deployment, billed at the base rate (usage types with
    # the suffix ``-custom-model``).
    product(
        "NMDEPIN0001",
        "USE1-NovaMicro-input-tokens-custom-model",
        f"{INPUT_PER_1K:.10f}",
        "1K tokens",
        "$0.000035 per 1K input tokens of a custom Nova Micro model",
        model="Nova Micro",
        inferenceType="Input tokens",
        feature="Model Customization",
    ),
    product(
        "NMDEPOUT001",
        "USE1-NovaMicro-output-tokens-custom-model",
        f"{OUTPUT_PER_1K:.10f}",
        "1K tokens",
        "$0.00014 per 1K output tokens of a custom Nova Micro model",
        model="Nova Micro",
        inferenceType="Output tokens",
        feature="Model Customization",
    ),
    product(
        "NMBATCH0001",
        "USE1-NovaMicro-Batch-input-tokens",
        "0.0000175000",
        "1K tokens",
        "batch input tokens",
        model="Nova Micro",
        inferenceType="Input tokens",
        feature="Batch Inference",
    ),
    product(
        "NMGLOBAL001",
        "USE1-NovaMicro-Global-input-tokens",
        "0.0000400000",
        "1K tokens",
        "cross-Region (global) input tokens",
        model="Nova Micro",
        inferenceType="Input tokens",
    ),
    product(
        "NMFREE00001",
        "USE1-NovaMicro-Customization-Storage",
        "0.0000000000",
        "Month",
        "free tier storage",
        model="Nova Micro",
    ),
    product(
        "N2LPTNC0001",
        "USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits",
        f"{NOVA_2_LITE_PT_PER_HOUR:.10f}",
        "Hrs",
        "per model unit per hour, no commitment, Nova 2.0 Lite",
    ),
    product(
        "NEWMODEL001",
        "USE1-NovaUltra-Customization-Training",
        "0.0100000000",
        "1K tokens",
        "training of a model the catalog does not know",
    ),
    product(
        "OTHERREG001",
        "USW2-NovaMicro-Customization-Training",
        "0.0500000000",
        "1K tokens",
        "another region's price",
        region="us-west-2",
        model="Nova Micro",
    ),
]
DOCUMENTS: Final = PAGE_1 + PAGE_2
# A custom model's on-demand deployment: the base's token usage types with ``-custom-model``
# (usage types seen in public code); the cache-read variant is not the deployment's token rate.
DEPLOYMENT_DOCUMENTS: Final = [
    product(
        "N2LDEPIN001",
        "USE1-Nova2.0Lite-input-tokens-custom-model",
        f"{DEPLOYMENT_INPUT_PER_1K:.10f}",
        "1K tokens",
        "per 1K input tokens of a custom Nova 2.0 Lite model",
        model="Nova 2.0 Lite",
        inferenceType="Input tokens",
        feature="Model Customization",
    ),
    product(
        "N2LDEPOUT01",
        "USE1-Nova2.0Lite-output-tokens-custom-model",
        f"{DEPLOYMENT_OUTPUT_PER_1K:.10f}",
        "1K tokens",
        "per 1K output tokens of a custom Nova 2.0 Lite model",
        model="Nova 2.0 Lite",
        inferenceType="Output tokens",
        feature="Model Customization",
    ),
    product(
        "N2LDEPCACHE",
        "USE1-Nova2.0Lite-cache-read-input-token-count-custom-model",
        "0.0000300000",
        "1K tokens",
        "cache read input tokens of a custom model",
        model="Nova 2.0 Lite",
        inferenceType="Prompt cache read input tokens",
    ),
    product(
        "N2LBASEIN01",
        "USE1-Nova2.0Lite-input-tokens",
        "0.0003300000",
        "1K tokens",
        "per 1K input tokens of Nova 2.0 Lite",
        model="Nova 2.0 Lite",
        inferenceType="Input tokens",
        feature="On-demand Inference",
    ),
]


def get_products_request(token: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ServiceCode": "AmazonBedrock",
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION}],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    if token:
        request["NextToken"] = token
    return request


def foundation_model(
    model_id: str,
    *,
    status: str = "ACTIVE",
    customizations: tuple[str, ...] = ("FINE_TUNING", "DISTILLATION"),
    inference: tuple[str, ...] = ("PROVISIONED",),
    legacy: dt.datetime | None = None,
    end_of_life: dt.datetime | None = None,
    region: str = REGION,
) -> dict[str, Any]:
    """A GetFoundationModel response (hand-written in the botocore output shape)."""
    lifecycle: dict[str, Any] = {"status": status}
    if legacy is not None:
        lifecycle["legacyTime"] = legacy
    if end_of_life is not None:
        lifecycle["endOfLifeTime"] = end_of_life
    return {
        "modelDetails": {
            "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
            "modelId": model_id,
            "modelName": model_id,
            "providerName": model_id.split(".", 1)[0].capitalize(),
            "inputModalities": ["TEXT"],
            "outputModalities": ["TEXT"],
            "customizationsSupported": list(customizations),
            "inferenceTypesSupported": list(inference),
            "modelLifecycle": lifecycle,
        }
    }


def summary(model_id: str, types: tuple[str, ...], *, status: str = "ACTIVE", region: str = REGION) -> Any:
    """One ListFoundationModels model summary (hand-written in the botocore output shape)."""
    return {
        "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
        "modelId": model_id,
        "modelName": model_id,
        "providerName": model_id.split(".", 1)[0].capitalize(),
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "customizationsSupported": list(types),
        "inferenceTypesSupported": ["PROVISIONED"],
        "modelLifecycle": {"status": status},
    }
