/* check_store.c - lib/store without a real server: the statement registry refuses
 * duplicates (db_register), the script registry refuses a text twice (rds_script). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "suites.h"
#include "store/db.h"
#include "store/rds.h"

/* A conninfo that can never connect (no server there), so that a db_exec that gets past
 * the registry fails with ERR_UNAVAILABLE rather than ERR_INTERNAL. */
#define NOWHERE "host=/nonexistent-medrin-dir port=1 dbname=x user=x sslmode=disable"

static const struct db_stmt table_a[] = {
	{"a_one", "SELECT 1", 0},
	{"a_two", "SELECT $1::int", 1},
};
static const struct db_stmt table_b[] = {
	{"b_one", "SELECT 2", 0},
	{"a_two", "SELECT 3", 0}, /* collides with table_a */
};
static const struct db_stmt table_dup[] = {
	{"d_one", "SELECT 1", 0},
	{"d_two", "SELECT 2", 0},
	{"d_one", "SELECT 3", 0},
};
static const struct db_stmt table_c[] = {
	{"c_one", "SELECT 4", 0},
};
static const struct db_stmt table_noname[] = {
	{NULL, "SELECT 5", 0},
};

START_TEST(test_db_register_refuses_duplicates)
{
	struct db *db = db_new(NOWHERE, 1000, 2);

	ck_assert_ptr_nonnull(db);
	ck_assert_int_eq(db_register(db, table_a, 2), ERR_OK);
	/* Twice in one table: refused; none of it is registered. */
	ck_assert_int_eq(db_register(db, table_dup, 3), ERR_INVALID);
	ck_assert_int_eq(db_exec(db, NULL, "d_two", 0, NULL, NULL), ERR_INTERNAL);
	/* Across tables: refused as a whole, b_one included. */
	ck_assert_int_eq(db_register(db, table_b, 2), ERR_INVALID);
	ck_assert_int_eq(db_exec(db, NULL, "b_one", 0, NULL, NULL), ERR_INTERNAL);
	/* The same table twice is a duplicate of every statement. */
	ck_assert_int_eq(db_register(db, table_a, 2), ERR_INVALID);
	ck_assert_int_eq(db_register(db, table_noname, 1), ERR_INVALID);
	/* A distinct table is still accepted after refusals. */
	ck_assert_int_eq(db_register(db, table_c, 1), ERR_OK);
	/* Registered statements get past the registry (and fail only for lack of a
	 * server); their parameter counts are still checked first. */
	ck_assert_int_eq(db_exec(db, NULL, "c_one", 0, NULL, NULL), ERR_UNAVAILABLE);
	ck_assert_int_eq(db_exec(db, NULL, "a_one", 0, NULL, NULL), ERR_UNAVAILABLE);
	ck_assert_int_eq(db_exec(db, NULL, "a_two", 0, NULL, NULL), ERR_INTERNAL);
	ck_assert_uint_eq(db_generation(db), 0);
	db_free(db);
}
END_TEST

static const char LUA_A[] = "return 1";
static const char LUA_B[] = "return 2";

START_TEST(test_rds_script_refuses_duplicates)
{
	struct rds *r = rds_new("redis://127.0.0.1:1/0", "t:", 100);
	char copy[sizeof(LUA_A)];

	memcpy(copy, LUA_A, sizeof(LUA_A));
	ck_assert_ptr_nonnull(r);
	int a = rds_script(r, LUA_A);
	int b = rds_script(r, LUA_B);

	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(rds_script(r, LUA_A), ERR_INVALID);
	ck_assert_int_eq(rds_script(r, copy), ERR_INVALID); /* same text, other pointer */
	ck_assert_int_eq(rds_script(r, ""), ERR_INVALID);
	ck_assert_int_eq(rds_script(r, NULL), ERR_INVALID);
	/* A refused id is refused by rds_eval too, before any connection. */
	ck_assert_int_eq(rds_eval(r, NULL, ERR_INVALID, NULL, 0, NULL, 0, NULL), ERR_INTERNAL);
	ck_assert_int_eq(rds_script(r, "return 3"), 2);
	rds_free(r);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *reg = tcase_create("registry");

	tcase_add_test(reg, test_db_register_refuses_duplicates);
	tcase_add_test(reg, test_rds_script_refuses_duplicates);
	suite_add_tcase(s, reg);
	return s;
}
