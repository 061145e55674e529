/*
 * The MGNREGA record's 36 fields (names exactly as the data.gov.in resource spells them,
 * typo included), their monthly_figures columns and kinds, and the lookup of a field by
 * name that every parser calls for each column (CSV) or key (JSON, XML).
 */
#include "record.h"

#include <strings.h>

/* X(source name, column, kind), in the source's CSV column order (= enum etl_field). */
#define ETL_FIELD_LIST                                                                             \
    X("fin_year", NULL, ETL_KIND_TEXT)                                                             \
    X("month", NULL, ETL_KIND_TEXT)                                                                \
    X("state_code", NULL, ETL_KIND_INT)                                                            \
    X("state_name", NULL, ETL_KIND_TEXT)                                                           \
    X("district_code", NULL, ETL_KIND_INT)                                                         \
    X("district_name", NULL, ETL_KIND_TEXT)                                                        \
    X("Approved_Labour_Budget", "approved_labour_budget", ETL_KIND_INT)                            \
    X("Average_Wage_rate_per_day_per_person", "average_wage_rate_per_day_per_person",              \
      ETL_KIND_DECIMAL)                                                                            \
    X("Average_days_of_employment_provided_per_Household",                                         \
      "average_days_of_employment_provided_per_household", ETL_KIND_DECIMAL)                       \
    X("Differently_abled_persons_worked", "differently_abled_persons_worked", ETL_KIND_INT)        \
    X("Material_and_skilled_Wages", "material_and_skilled_wages", ETL_KIND_DECIMAL)                \
    X("Number_of_Completed_Works", "number_of_completed_works", ETL_KIND_INT)                      \
    X("Number_of_GPs_with_NIL_exp", "number_of_gps_with_nil_exp", ETL_KIND_INT)                    \
    X("Number_of_Ongoing_Works", "number_of_ongoing_works", ETL_KIND_INT)                          \
    X("Persondays_of_Central_Liability_so_far", "persondays_of_central_liability_so_far",          \
      ETL_KIND_INT)                                                                                \
    X("SC_persondays", "sc_persondays", ETL_KIND_INT)                                              \
    X("SC_workers_against_active_workers", "sc_workers_against_active_workers", ETL_KIND_INT)      \
    X("ST_persondays", "st_persondays", ETL_KIND_INT)                                              \
    X("ST_workers_against_active_workers", "st_workers_against_active_workers", ETL_KIND_INT)      \
    X("Total_Adm_Expenditure", "total_adm_expenditure", ETL_KIND_DECIMAL)                          \
    X("Total_Exp", "total_exp", ETL_KIND_DECIMAL)                                                  \
    X("Total_Households_Worked", "total_households_worked", ETL_KIND_INT)                          \
    X("Total_Individuals_Worked", "total_individuals_worked", ETL_KIND_INT)                        \
    X("Total_No_of_Active_Job_Cards", "total_no_of_active_job_cards", ETL_KIND_INT)                \
    X("Total_No_of_Active_Workers", "total_no_of_active_workers", ETL_KIND_INT)                    \
    X("Total_No_of_HHs_completed_100_Days_of_Wage_Employment",                                     \
      "total_no_of_hhs_completed_100_days_of_wage_employment", ETL_KIND_INT)                       \
    X("Total_No_of_JobCards_issued", "total_no_of_jobcards_issued", ETL_KIND_INT)                  \
    X("Total_No_of_Workers", "total_no_of_workers", ETL_KIND_INT)                                  \
    X("Total_No_of_Works_Takenup", "total_no_of_works_takenup", ETL_KIND_INT)                      \
    X("Wages", "wages", ETL_KIND_DECIMAL)                                                          \
    X("Women_Persondays", "women_persondays", ETL_KIND_INT)                                        \
    X("percent_of_Category_B_Works", "percent_of_category_b_works", ETL_KIND_PERCENT)              \
    X("percent_of_Expenditure_on_Agriculture_Allied_Works",                                        \
      "percent_of_expenditure_on_agriculture_allied_works", ETL_KIND_PERCENT)                      \
    X("percent_of_NRM_Expenditure", "percent_of_nrm_expenditure", ETL_KIND_PERCENT)                \
    X("percentage_payments_gererated_within_15_days",                                              \
      "percentage_payments_gererated_within_15_days", ETL_KIND_PERCENT)                            \
    X("Remarks", "remarks", ETL_KIND_TEXT)

#define X(name, col, kind) {name, col, kind},
const struct etl_field_def etl_fields[ETL_NFIELDS] = {ETL_FIELD_LIST};
#undef X

/* Name lengths, precomputed so a lookup compares one byte per field before any text. */
#define X(name, col, kind) (unsigned char)(sizeof(name) - 1),
static const unsigned char field_len[ETL_NFIELDS] = {ETL_FIELD_LIST};
#undef X

int etl_field_index(struct slice name)
{
    int i;

    if (name.ptr == NULL)
        return -1;
    name = slice_trim(name);
    if (name.len == 0 || name.len > 255)
        return -1;
    for (i = 0; i < ETL_NFIELDS; i++) {
        if (field_len[i] == name.len &&
            strncasecmp(etl_fields[i].source_name, name.ptr, name.len) == 0)
            return i;
    }
    return -1;
}
