"""Realistic names, companies and sources for demo data and benchmarks."""

from __future__ import annotations

import random
import unicodedata

FIRST_NAMES = (
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Lisa Matthew Nancy Anthony "
    "Betty Mark Sandra Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle "
    "Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca "
    "Jason Laura Edward Sharon Priya Rahul Ananya Arjun Mei Wei Hiroshi Yuki Sofia Mateo Lucas "
    "Emma Noah Olivia Liam Amara Chidi Fatima Omar Leila Youssef Ingrid Lars Astrid Jakub Zofia "
    "Élodie Søren Björn Zoë José "
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Patel Sharma Gupta Tanaka Sato Kim Park Chen Wang Müller Schmidt Dubois Rossi Novak "
    "Kowalski Okafor Mensah Haddad O'Brien Nilsson Andersen Fernández Silva Costa "
).split()
COMPANY_WORDS_A = (
    "Acme Globex Initech Umbrella Stark Wayne Wonka Hooli Vandelay Soylent Cyberdyne Tyrell "
    "Aperture Blue Northwind Contoso Fabrikam Litware Adatum Proseware Tailspin Wingtip Lucerne "
    "Margie Alpine Bright Summit Harbor Cedar Maple Granite River Pioneer Evergreen Atlas Orion "
    "Nova Zenith Vertex "
).split()
COMPANY_WORDS_B = (
    "Labs Systems Industries Solutions Logistics Analytics Partners Dynamics Software Health "
    "Foods Energy Robotics Media Capital Networks Studio Works Consulting Supply Retail "
    "Education Travel "
).split()
TITLES = (
    "CEO",
    "CTO",
    "Founder",
    "Head of Marketing",
    "Marketing Manager",
    "Sales Director",
    "VP Sales",
    "Operations Manager",
    "Office Manager",
    "Procurement Lead",
    "IT Manager",
    "Product Manager",
    "Student",
    "Consultant",
    "Owner",
    "Engineer",
    "HR Manager",
    "Finance Director",
    "",
)
SOURCES = (
    ("google", "cpc"),
    ("google", "organic"),
    ("bing", "cpc"),
    ("facebook", "paid_social"),
    ("linkedin", "paid_social"),
    ("newsletter", "email"),
    ("partner", "referral"),
    ("event", "offline"),
    ("direct", "none"),
    ("webinar", "event"),
    ("import", "file"),
)
CAMPAIGNS = ("spring-launch", "brand", "retargeting", "webinar-q3", "black-friday", "trial-push", "")
FREE_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com")
PAGES = ("/", "/pricing", "/features", "/blog/lead-scoring", "/blog/crm-basics", "/demo", "/contact", "/about")


def company_name(rng: random.Random) -> str:
    return f"{rng.choice(COMPANY_WORDS_A)} {rng.choice(COMPANY_WORDS_B)}"


def company_domain(name: str) -> str:
    return name.lower().replace(" ", "") + ".example"


def email_for(rng: random.Random, first: str, last: str, domain: str, n: int) -> str:
    local = unicodedata.normalize("NFKD", f"{first}.{last}".lower().replace("ø", "o").replace("'", ""))
    local = "".join(ch for ch in local if ch.isascii() and (ch.isalnum() or ch == "."))
    return f"{local}{n}@{domain}"


def phone_for(n: int) -> str:
    """Return a valid US number unique for n below 10**7."""
    area = (201, 212, 305, 312, 415, 503, 617, 646, 702, 718)[n % 10]
    return f"+1{area}{200 + (n // 10_000) % 800:03d}{n % 10_000:04d}"
