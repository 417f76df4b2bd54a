/* suites.h - every unit-test suite; check_main.c runs them all. */
#ifndef MEDRIN_SUITES_H
#define MEDRIN_SUITES_H

#include <check.h>

Suite *arena_suite(void);
Suite *buf_suite(void);
Suite *util_suite(void);
Suite *config_suite(void);
Suite *json_suite(void);
Suite *router_suite(void);
Suite *problem_suite(void);
Suite *dispatch_suite(void);
Suite *token_suite(void);
Suite *otp_suite(void);
Suite *password_suite(void);
Suite *record_suite(void);
Suite *sessions_suite(void);
Suite *store_suite(void);
Suite *oidc_suite(void);
Suite *latex_suite(void);
Suite *jobs_suite(void);
Suite *graphql_suite(void);

#endif
