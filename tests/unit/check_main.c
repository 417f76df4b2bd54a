/* check_main.c - runs every unit-test suite (Check). Exit status: 0 when all pass. */
#include <stdlib.h>
#include "suites.h"

int main(void)
{
	Suite *(*const suites[])(void) = {
	    arena_suite,    buf_suite,     util_suite,     config_suite, json_suite,
	    router_suite,   problem_suite, dispatch_suite, token_suite,  otp_suite,
	    password_suite, record_suite,  sessions_suite, store_suite,  oidc_suite,
	    latex_suite,    jobs_suite,    graphql_suite,
	};
	SRunner *sr = srunner_create(NULL);

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);

	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
