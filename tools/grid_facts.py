"""Hand-kept facts the accounting data build needs and the reference files do not pair:
ISO 3166-1 codes, the IANA time zone of each hourly zone, the grid zone of each cloud
region, and names people use for zones. Each table says its basis.
"""

from __future__ import annotations

#: ISO 3166-1 alpha-2 → alpha-3 where the reference files' country names do not match
#: (names differ: "Great Britain", "Mainland India", "Ivory Coast"...) or where a country has
#: no Electricity Maps country zone. All other pairs come from matching names.
ISO3_BY_ISO2 = {
    "AX": "ALA", "CD": "COD", "CI": "CIV", "CV": "CPV", "CW": "CUW", "FM": "FSM", "GB": "GBR",
    "GS": "SGS", "IN": "IND", "PS": "PSE", "PW": "PLW", "RE": "REU", "ST": "STP", "TL": "TLS",
    "VI": "VIR", "XK": "XKX", "YT": "MYT",
    "AS": "ASM", "AQ": "ATA", "BM": "BMU", "CL": "CHL", "CK": "COK", "EH": "ESH", "GD": "GRD",
    "KI": "KIR", "KN": "KNA", "MP": "MNP", "MS": "MSR", "NU": "NIU", "NR": "NRU", "RU": "RUS",
    "SH": "SHN", "TC": "TCA", "TV": "TUV", "UA": "UKR", "VG": "VGB",
}

#: IANA time zone of each hourly zone, for local-time daily profiles.
HOURLY_TIMEZONES = {
    "AU-NSW": "Australia/Sydney", "AU-VIC": "Australia/Melbourne", "BR-CS": "America/Sao_Paulo",
    "CA-ON": "America/Toronto", "CL-SEN": "America/Santiago", "DE": "Europe/Berlin",
    "GB": "Europe/London", "IN-WE": "Asia/Kolkata", "JP-TK": "Asia/Tokyo", "KR": "Asia/Seoul",
    "SG": "Asia/Singapore", "US-CAL-CISO": "America/Los_Angeles",
    "US-MIDA-PJM": "America/New_York", "US-NY-NYIS": "America/New_York",
    "US-TEX-ERCO": "America/Chicago", "ZA": "Africa/Johannesburg",
}

#: (provider, region) → (location, grid zone). Locations are the providers' published
#: region locations (as listed in the reference files: Green Algorithms' datacenter table for
#: Azure and Google Cloud, Cloud Carbon Footprint's and ML CO2 Impact's tables for AWS).
#: The zone is the Electricity Maps zone (US balancing authority, bidding zone, national
#: grid) that serves that location; US states (eGRID) and Chinese provinces where no finer
#: zone is certain.
CLOUD_REGIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("aws", "us-east-1"): ("N. Virginia", "US-MIDA-PJM"),
    ("aws", "us-east-2"): ("Ohio", "US-MIDA-PJM"),
    ("aws", "us-west-1"): ("N. California", "US-CAL-CISO"),
    ("aws", "us-west-2"): ("Oregon", "US-NW-BPAT"),
    ("aws", "us-gov-east-1"): ("Ohio", "US-MIDA-PJM"),
    ("aws", "us-gov-west-1"): ("Oregon", "US-NW-BPAT"),
    ("aws", "af-south-1"): ("Cape Town", "ZA"),
    ("aws", "ap-east-1"): ("Hong Kong", "HK"),
    ("aws", "ap-south-1"): ("Mumbai", "IN-WE"),
    ("aws", "ap-south-2"): ("Hyderabad", "IN-SO"),
    ("aws", "ap-northeast-1"): ("Tokyo", "JP-TK"),
    ("aws", "ap-northeast-2"): ("Seoul", "KR"),
    ("aws", "ap-northeast-3"): ("Osaka", "JP-KN"),
    ("aws", "ap-southeast-1"): ("Singapore", "SG"),
    ("aws", "ap-southeast-2"): ("Sydney", "AU-NSW"),
    ("aws", "ap-southeast-3"): ("Jakarta", "ID"),
    ("aws", "ap-southeast-4"): ("Melbourne", "AU-VIC"),
    ("aws", "ca-central-1"): ("Montreal", "CA-QC"),
    ("aws", "ca-west-1"): ("Calgary", "CA-AB"),
    ("aws", "cn-north-1"): ("Beijing", "CN-BJ"),
    ("aws", "cn-northwest-1"): ("Ningxia", "CN-NX"),
    ("aws", "eu-central-1"): ("Frankfurt", "DE"),
    ("aws", "eu-central-2"): ("Zurich", "CH"),
    ("aws", "eu-west-1"): ("Ireland", "IE"),
    ("aws", "eu-west-2"): ("London", "GB"),
    ("aws", "eu-west-3"): ("Paris", "FR"),
    ("aws", "eu-south-1"): ("Milan", "IT-NO"),
    ("aws", "eu-south-2"): ("Aragon", "ES"),
    ("aws", "eu-north-1"): ("Stockholm", "SE-SE3"),
    ("aws", "il-central-1"): ("Tel Aviv", "IL"),
    ("aws", "me-south-1"): ("Bahrain", "BH"),
    ("aws", "me-central-1"): ("UAE", "AE"),
    ("aws", "sa-east-1"): ("Sao Paulo", "BR-CS"),
    ("gcp", "us-central1"): ("Iowa", "US-MIDW-MISO"),
    ("gcp", "us-central2"): ("Oklahoma", "US-CENT-SWPP"),
    ("gcp", "us-east1"): ("Moncks Corner, South Carolina", "US-CAR-SC"),  # Santee Cooper
    ("gcp", "us-east4"): ("N. Virginia", "US-MIDA-PJM"),
    ("gcp", "us-east5"): ("Columbus", "US-MIDA-PJM"),
    ("gcp", "us-south1"): ("Dallas", "US-TEX-ERCO"),
    ("gcp", "us-west1"): ("Oregon", "US-NW-BPAT"),
    ("gcp", "us-west2"): ("Los Angeles", "US-CA"),
    ("gcp", "us-west3"): ("Salt Lake City", "US-NW-PACE"),
    ("gcp", "us-west4"): ("Las Vegas", "US-NW-NEVP"),
    ("gcp", "northamerica-northeast1"): ("Montreal", "CA-QC"),
    ("gcp", "northamerica-northeast2"): ("Toronto", "CA-ON"),
    ("gcp", "northamerica-south1"): ("Queretaro", "MX"),
    ("gcp", "southamerica-east1"): ("Sao Paulo", "BR-CS"),
    ("gcp", "southamerica-west1"): ("Santiago", "CL-SEN"),
    ("gcp", "europe-west1"): ("Belgium", "BE"),
    ("gcp", "europe-west2"): ("London", "GB"),
    ("gcp", "europe-west3"): ("Frankfurt", "DE"),
    ("gcp", "europe-west4"): ("Eemshaven", "NL"),
    ("gcp", "europe-west6"): ("Zurich", "CH"),
    ("gcp", "europe-west8"): ("Milan", "IT-NO"),
    ("gcp", "europe-west9"): ("Paris", "FR"),
    ("gcp", "europe-west10"): ("Berlin", "DE"),
    ("gcp", "europe-west12"): ("Turin", "IT-NO"),
    ("gcp", "europe-north1"): ("Hamina", "FI"),
    ("gcp", "europe-north2"): ("Stockholm", "SE-SE3"),
    ("gcp", "europe-central2"): ("Warsaw", "PL"),
    ("gcp", "europe-southwest1"): ("Madrid", "ES"),
    ("gcp", "asia-east1"): ("Taiwan", "TW"),
    ("gcp", "asia-east2"): ("Hong Kong", "HK"),
    ("gcp", "asia-northeast1"): ("Tokyo", "JP-TK"),
    ("gcp", "asia-northeast2"): ("Osaka", "JP-KN"),
    ("gcp", "asia-northeast3"): ("Seoul", "KR"),
    ("gcp", "asia-south1"): ("Mumbai", "IN-WE"),
    ("gcp", "asia-south2"): ("Delhi", "IN-NO"),
    ("gcp", "asia-southeast1"): ("Singapore", "SG"),
    ("gcp", "asia-southeast2"): ("Jakarta", "ID"),
    ("gcp", "australia-southeast1"): ("Sydney", "AU-NSW"),
    ("gcp", "australia-southeast2"): ("Melbourne", "AU-VIC"),
    ("gcp", "me-central1"): ("Doha", "QA"),
    ("gcp", "me-central2"): ("Dammam", "SA"),
    ("gcp", "me-west1"): ("Tel Aviv", "IL"),
    ("gcp", "africa-south1"): ("Johannesburg", "ZA"),
    ("azure", "eastus"): ("Virginia", "US-MIDA-PJM"),
    ("azure", "eastus2"): ("Virginia", "US-MIDA-PJM"),
    ("azure", "centralus"): ("Iowa", "US-MIDW-MISO"),
    ("azure", "northcentralus"): ("Chicago, Illinois", "US-MIDA-PJM"),  # ComEd: PJM
    ("azure", "southcentralus"): ("Texas", "US-TEX-ERCO"),
    ("azure", "westcentralus"): ("Cheyenne, Wyoming", "US-NW-WACM"),  # WAPA Rocky Mtn
    ("azure", "westus"): ("California", "US-CAL-CISO"),
    ("azure", "westus2"): ("Quincy, Washington", "US-NW-GCPD"),  # Grant County PUD
    ("azure", "westus3"): ("Arizona", "US-AZ"),
    ("azure", "canadacentral"): ("Toronto", "CA-ON"),
    ("azure", "canadaeast"): ("Quebec City", "CA-QC"),
    ("azure", "brazilsouth"): ("Sao Paulo", "BR-CS"),
    ("azure", "mexicocentral"): ("Queretaro", "MX"),
    ("azure", "northeurope"): ("Ireland", "IE"),
    ("azure", "westeurope"): ("Netherlands", "NL"),
    ("azure", "francecentral"): ("Paris", "FR"),
    ("azure", "francesouth"): ("Marseille", "FR"),
    ("azure", "germanywestcentral"): ("Frankfurt", "DE"),
    ("azure", "germanynorth"): ("Berlin", "DE"),
    ("azure", "uksouth"): ("London", "GB"),
    ("azure", "ukwest"): ("Cardiff", "GB"),
    ("azure", "norwayeast"): ("Oslo", "NO-NO1"),
    ("azure", "norwaywest"): ("Stavanger", "NO-NO2"),
    ("azure", "swedencentral"): ("Gavle", "SE-SE3"),
    ("azure", "switzerlandnorth"): ("Zurich", "CH"),
    ("azure", "switzerlandwest"): ("Geneva", "CH"),
    ("azure", "polandcentral"): ("Warsaw", "PL"),
    ("azure", "italynorth"): ("Milan", "IT-NO"),
    ("azure", "spaincentral"): ("Madrid", "ES"),
    ("azure", "eastasia"): ("Hong Kong", "HK"),
    ("azure", "southeastasia"): ("Singapore", "SG"),
    ("azure", "japaneast"): ("Tokyo", "JP-TK"),
    ("azure", "japanwest"): ("Osaka", "JP-KN"),
    ("azure", "koreacentral"): ("Seoul", "KR"),
    ("azure", "koreasouth"): ("Busan", "KR"),
    ("azure", "centralindia"): ("Pune", "IN-WE"),
    ("azure", "westindia"): ("Mumbai", "IN-WE"),
    ("azure", "southindia"): ("Chennai", "IN-SO"),
    ("azure", "australiaeast"): ("New South Wales", "AU-NSW"),
    ("azure", "australiasoutheast"): ("Victoria", "AU-VIC"),
    ("azure", "australiacentral"): ("Canberra", "AU-NSW"),
    ("azure", "australiacentral2"): ("Canberra", "AU-NSW"),
    ("azure", "southafricanorth"): ("Johannesburg", "ZA"),
    ("azure", "southafricawest"): ("Cape Town", "ZA"),
    ("azure", "uaenorth"): ("Dubai", "AE"),
    ("azure", "uaecentral"): ("Abu Dhabi", "AE"),
    ("azure", "qatarcentral"): ("Doha", "QA"),
    ("azure", "israelcentral"): ("Israel", "IL"),
    ("azure", "newzealandnorth"): ("Auckland", "NZ"),
    ("azure", "chinaeast"): ("Shanghai", "CN-SH"),
    ("azure", "chinaeast2"): ("Shanghai", "CN-SH"),
    ("azure", "chinanorth"): ("Beijing", "CN-BJ"),
    ("azure", "chinanorth2"): ("Beijing", "CN-BJ"),
}

#: Where a region's site is known and its utility belongs to a finer balancing authority
#: than the state (marked on the rows above): Azure North Central US is in Chicago
#: (Commonwealth Edison, part of PJM since 2004); Azure West US 2 is in Quincy, WA, served
#: by Grant County PUD (its own balancing authority, EIA code GCPD); Azure West Central US
#: is in Cheyenne, WY, in the Western Area Power Administration Rocky Mountain region
#: (WACM); Google us-east1 is in Moncks Corner / Berkeley County, SC, supplied by Santee
#: Cooper (South Carolina Public Service Authority, EIA code SC). Sources: the providers'
#: region pages (Microsoft "Azure geographies"; Google "Cloud locations" and "Data center
#: locations"), EIA-930 balancing-authority list (zones as Electricity Maps names them).

#: Provider fleet PUE, the latest each provider publishes: provider → (PUE, year, source).
PROVIDER_PUE = {  # checked 2026-12 against the pages named (issue 14)
    "aws": (1.14, 2025, "https://sustainability.aboutamazon.com/environment/the-cloud "
            "(retrieved 2026: 'In 2025, our data centers reported an average global PUE of "
            "1.14 which is an improvement compared to 1.15 reported in 2024'; "
            "aws.amazon.com/sustainability/data-centers: 1.15 in 2024)"),
    "azure": (1.18, 2024, "https://www.datacenterdynamics.com/en/news/aws-global-data-"
              "centers-achieved-pue-of-115-in-2023/ (DatacenterDynamics, Dec 2024: Microsoft "
              "global facility average 1.18, newest facilities ~1.12; Microsoft's own page "
              "not retrieved)"),
    "gcp": (1.09, 2024, "Google 2025 Environmental Report: average annual fleet PUE 1.09 "
            "in 2024, as reported by itdaily.com ('Energy consumption Google data center "
            "doubles', 2025) and deepnewz.com (2025); Google's own page "
            "https://www.google.com/about/datacenters/efficiency/ not retrieved"),
}

#: On-site water (WUE, L/kWh of IT energy) of a data centre whose operator is unknown.
INDUSTRY_WUE = (1.8, 2016, "Shehabi et al. 2016, United States Data Center Energy Usage "
                "Report (LBNL-1005775): 1.8 L/kWh average on-site water; range 0.2-3.0 "
                "in wattprint.estimate._priors.WUE_UNKNOWN_DC")

#: Names people use that no table spells (lower case) → zone key.
EXTRA_ALIASES = {
    "uk": "GB", "united kingdom": "GB", "britain": "GB", "england": "GB", "usa": "US",
    "united states of america": "US", "america": "US", "world": "WORLD", "global": "WORLD",
    "europe": "EU", "eu27": "EU", "prc": "CN", "korea": "KR", "holland": "NL",
    "caiso": "US-CAL-CISO", "ercot": "US-TEX-ERCO", "pjm": "US-MIDA-PJM",
    "nyiso": "US-NY-NYIS", "miso": "US-MIDW-MISO", "spp": "US-CENT-SWPP",
    "isone": "US-NE-ISNE", "iso-ne": "US-NE-ISNE", "bpa": "US-NW-BPAT",
}
