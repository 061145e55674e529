#!/usr/bin/env python3
"""Generates a national-size MGNREGA file in the data.gov.in resource's shape, for
benchmarks and large tests. Deterministic for a given --seed.

    gen_national.py OUT [--records N] [--format csv|json|xml] [--seed S]

CSV (default, 400,000 records): the API's CSV export: the source header, every value a
string, "NA" where missing, month names in mixed forms ("Dec", "December", "July",
"Sept", "april"), trailing spaces in some district names, payment percentages above 100
in some rows. ~700 districts across 30 states, 12 months of 4 financial years, several
daily snapshots of each district-month (figures cumulative within the year and growing
from one snapshot to the next).

--format json|xml writes one API page ({"total","count","records"} or <result>...) with
--records records (default 1000 for those formats).
"""
import argparse
import json
import os
import random
import sys
from xml.sax.saxutils import escape

HEADER = (
    "fin_year,month,state_code,state_name,district_code,district_name,Approved_Labour_Budget,"
    "Average_Wage_rate_per_day_per_person,Average_days_of_employment_provided_per_Household,"
    "Differently_abled_persons_worked,Material_and_skilled_Wages,Number_of_Completed_Works,"
    "Number_of_GPs_with_NIL_exp,Number_of_Ongoing_Works,Persondays_of_Central_Liability_so_far,"
    "SC_persondays,SC_workers_against_active_workers,ST_persondays,"
    "ST_workers_against_active_workers,Total_Adm_Expenditure,Total_Exp,Total_Households_Worked,"
    "Total_Individuals_Worked,Total_No_of_Active_Job_Cards,Total_No_of_Active_Workers,"
    "Total_No_of_HHs_completed_100_Days_of_Wage_Employment,Total_No_of_JobCards_issued,"
    "Total_No_of_Workers,Total_No_of_Works_Takenup,Wages,Women_Persondays,"
    "percent_of_Category_B_Works,percent_of_Expenditure_on_Agriculture_Allied_Works,"
    "percent_of_NRM_Expenditure,percentage_payments_gererated_within_15_days,Remarks"
).split(",")

STATES = [
    "ANDHRA PRADESH", "ARUNACHAL PRADESH", "ASSAM", "BIHAR", "CHHATTISGARH", "GOA", "GUJARAT",
    "HARYANA", "HIMACHAL PRADESH", "JAMMU AND KASHMIR", "JHARKHAND", "KARNATAKA", "KERALA",
    "LADAKH", "MADHYA PRADESH", "MAHARASHTRA", "MANIPUR", "MEGHALAYA", "MIZORAM", "NAGALAND",
    "ODISHA", "PUDUCHERRY", "PUNJAB", "RAJASTHAN", "SIKKIM", "TAMIL NADU", "TELANGANA",
    "TRIPURA", "UTTAR PRADESH", "UTTARAKHAND", "WEST BENGAL",
]
# Financial-year order, with the mixed spellings the source uses.
MONTHS = [
    ("April", "Apr", "april"), ("May",), ("June", "Jun"), ("July", "Jul"), ("Aug", "August"),
    ("Sep", "Sept", "September"), ("Oct", "October"), ("Nov", "November"),
    ("Dec", "December"), ("Jan", "January"), ("Feb", "February"), ("March", "Mar"),
]
SYL = ["RA", "MA", "PUR", "GANJ", "BAD", "NA", "GAR", "SI", "DHI", "WA", "LA", "KHAN", "DWA",
       "RI", "TI", "KAM", "SA", "NI", "HAR", "DA", "BAR", "WANI", "JHA", "BU", "SHI", "VA"]
YEARS = [2021, 2022, 2023, 2024]


def districts(rng):
    """~700 (state_code, state_name, district_code, district_name) across the states."""
    out = []
    for si, state in enumerate(STATES):
        # Codes 1..31 in list order, except that MADHYA PRADESH has its real NREGA code 17
        # and the state that would have had 17 takes MADHYA PRADESH's place (15).
        code = si + 1
        if state == "MADHYA PRADESH":
            code = 17
        elif code == 17:
            code = 15
        n = rng.randint(8, 38)
        for k in range(1, n + 1):
            name = "".join(rng.choice(SYL) for _ in range(rng.randint(2, 3)))
            if rng.random() < 0.1:
                name = name + " "  # the source's trailing spaces
            if rng.random() < 0.05:
                name = "EAST " + name
            out.append((code, state, code * 100 + k, name, rng.uniform(0.3, 3.0)))
    return out


def dec(rng, lo, hi, places):
    return ("%." + str(places) + "f") % rng.uniform(lo, hi)


def record(rng, fy, fm, snap, nsnaps, d):
    state_code, state, dcode, dname, size = d
    progress = (fm - 1 + (snap + 1) / nsnaps) / 12.0  # cumulative within the year
    hh = int(40000 * size * (0.2 + 0.8 * progress))
    persondays = int(hh * rng.uniform(25, 55) * (0.3 + 0.7 * progress))
    wages = persondays * rng.uniform(200, 280) / 1e5
    material = wages * rng.uniform(0.2, 0.7)
    adm = (wages + material) * rng.uniform(0.03, 0.08)
    v = {
        "fin_year": "%d-%d" % (fy, fy + 1),
        "month": rng.choice(MONTHS[fm - 1]),
        "state_code": str(state_code),
        "state_name": state,
        "district_code": str(dcode),
        "district_name": dname,
        "Approved_Labour_Budget": str(int(hh * 70 * rng.uniform(0.9, 1.1))),
        "Average_Wage_rate_per_day_per_person": dec(rng, 180, 350, rng.choice([11, 12, 13])),
        "Average_days_of_employment_provided_per_Household": str(rng.randint(8, 60)),
        "Differently_abled_persons_worked": str(int(hh * rng.uniform(0.001, 0.01))),
        "Material_and_skilled_Wages": "%.6f" % material,
        "Number_of_Completed_Works": str(int(3000 * size * progress)),
        "Number_of_GPs_with_NIL_exp": str(rng.randint(0, 12)),
        "Number_of_Ongoing_Works": str(int(9000 * size)),
        "Persondays_of_Central_Liability_so_far": str(persondays),
        "SC_persondays": str(int(persondays * rng.uniform(0.05, 0.25))),
        "SC_workers_against_active_workers": str(int(hh * rng.uniform(0.1, 0.5))),
        "ST_persondays": str(int(persondays * rng.uniform(0.02, 0.6))),
        "ST_workers_against_active_workers": str(int(hh * rng.uniform(0.05, 0.9))),
        "Total_Adm_Expenditure": "%.5f" % adm,
        "Total_Exp": "%.11f" % (wages + material + adm),
        "Total_Households_Worked": str(hh),
        "Total_Individuals_Worked": str(int(hh * rng.uniform(1.2, 1.6))),
        "Total_No_of_Active_Job_Cards": str(int(hh * rng.uniform(1.5, 3))),
        "Total_No_of_Active_Workers": str(int(hh * rng.uniform(3, 5))),
        "Total_No_of_HHs_completed_100_Days_of_Wage_Employment": str(int(hh * 0.02 * progress)),
        "Total_No_of_JobCards_issued": str(int(hh * rng.uniform(3, 5))),
        "Total_No_of_Workers": str(int(hh * rng.uniform(6, 9))),
        "Total_No_of_Works_Takenup": str(int(11000 * size)),
        "Wages": "%.11f" % wages,
        "Women_Persondays": str(int(persondays * rng.uniform(0.3, 0.6))),
        "percent_of_Category_B_Works": str(rng.randint(20, 80)),
        "percent_of_Expenditure_on_Agriculture_Allied_Works": dec(rng, 10, 90, 2),
        "percent_of_NRM_Expenditure": dec(rng, 20, 90, 2),
        "percentage_payments_gererated_within_15_days":
            dec(rng, 100.01, 103, 2) if rng.random() < 0.05 else dec(rng, 85, 100, 2),
        "Remarks": "NA",
    }
    # Occasional missing figures, as "NA".
    if rng.random() < 0.01:
        for k in rng.sample(HEADER[6:35], rng.randint(1, 5)):
            v[k] = "NA"
    return v


def generate(n, seed):
    rng = random.Random(seed)
    ds = districts(rng)
    per_year = len(ds) * 12
    nsnaps = max(1, -(-n // (per_year * len(YEARS))))
    produced = 0
    for fy in YEARS:
        for fm in range(1, 13):
            for snap in range(nsnaps):
                for d in ds:
                    if produced >= n:
                        return
                    yield record(rng, fy, fm, snap, nsnaps, d)
                    produced += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--records", type=int)
    ap.add_argument("--format", choices=["csv", "json", "xml"], default="csv")
    ap.add_argument("--seed", type=int, default=2024)
    a = ap.parse_args()
    n = a.records if a.records is not None else (400000 if a.format == "csv" else 1000)
    if n < 0:
        sys.exit("--records must be >= 0")

    if os.path.dirname(a.out):
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w", newline="") as f:
        if a.format == "csv":
            f.write(",".join(HEADER) + "\n")
            for v in generate(n, a.seed):
                f.write(",".join(v[k] for k in HEADER) + "\n")
        elif a.format == "json":
            recs = list(generate(n, a.seed))
            json.dump({"index_name": "ee03643a-ee4c-48c2-ac30-9f2ff26ab722",
                       "total": n, "count": n, "records": recs}, f)
            f.write("\n")
        else:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n<result>\n')
            f.write("<total>%d</total>\n<count>%d</count>\n<records>\n" % (n, n))
            for v in generate(n, a.seed):
                f.write("<item>" + "".join("<%s>%s</%s>" % (k, escape(v[k]), k)
                                           for k in HEADER) + "</item>\n")
            f.write("</records>\n</result>\n")


if __name__ == "__main__":
    main()
