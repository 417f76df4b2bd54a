/* graphql_schema.c - Medrin's GraphQL schema: the type table (reads like
 * docs/schema.graphql, which tests/api/test_graphql_schema.py checks against our
 * introspection), then the one table of Type.field -> resolver, like the route table.
 *
 * Field names are the GraphQL convention (camelCase); a field that only reads a member
 * of the rendered REST object names it (prop), so `User.firstName` is `first_name` of
 * render_user's object. Enum values are upper case and map to the REST/domain spelling.
 */
#include "api/graphql.h"

#include "api/render.h"
#include "domain/accounts.h"

#define ARGS(a) a, GQL_N(a)
#define NOARGS NULL, 0
#define OBJECT(name, desc, fields)                                                         \
	{                                                                                  \
		GQL_KIND_OBJECT, name, desc, fields, GQL_N(fields), NULL, 0, NULL, 0, NULL \
	}
#define ENUM(name, desc, values)                                                         \
	{                                                                                \
		GQL_KIND_ENUM, name, desc, NULL, 0, NULL, 0, values, GQL_N(values), NULL \
	}
#define SCALAR(name, desc, url)                                             \
	{                                                                   \
		GQL_KIND_SCALAR, name, desc, NULL, 0, NULL, 0, NULL, 0, url \
	}

/* ---- types ---- */

static const struct gql_enum_def role_values[] = {
    {"USER", "user", "An ordinary account.", NULL},
    {"STAFF", "staff", "Staff: may list and read every user.", NULL},
    {"ADMIN", "admin", "Administrator: may also change roles.", NULL},
};

static const struct gql_enum_def account_type_values[] = {
    {"JOBSEEKER", "jobseeker", "Looks for jobs.", NULL},
    {"EMPLOYER", "employer", "Offers jobs.", NULL},
    {"NONE", "none", "Neither (the default).", NULL},
};

static const struct gql_field_def user_fields[] = {
    {"id", "ID!", NULL, NOARGS, NULL},
    {"email", "String!", NULL, NOARGS, NULL},
    {"firstName", "String!", NULL, NOARGS, NULL},
    {"lastName", "String!", NULL, NOARGS, NULL},
    {"role", "Role!", "The privilege: what the account may do.", NOARGS, NULL},
    {"accountType", "AccountType!", "What the account is for.", NOARGS, NULL},
    {"emailVerified", "Boolean!", NULL, NOARGS, NULL},
    {"loginOtp", "Boolean!", "Whether signing in also asks for a code sent by mail.", NOARGS, NULL},
    {"createdAt", "DateTime!", NULL, NOARGS, NULL},
    {"updatedAt", "DateTime!", NULL, NOARGS, NULL},
};

static const struct gql_field_def query_fields[] = {
    {"me", "User",
     "The signed-in user (the same object as GET /api/v1/users/me). Needs an access token: "
     "without one, null with an UNAUTHENTICATED error.",
     NOARGS, NULL},
};

static const struct gql_type_def types[] = {
    OBJECT("Query", "Everything that can be read.", query_fields),
    OBJECT("User", "A user account, as GET /api/v1/users/me shows it to its owner.", user_fields),
    ENUM("Role", "A user's privilege.", role_values),
    ENUM("AccountType", "What an account is for.", account_type_values),
    SCALAR("DateTime", "A point in time: RFC 3339 text in UTC, e.g. 2026-11-21T10:00:00Z.",
           "https://www.rfc-editor.org/rfc/rfc3339"),
};

/* ---- resolvers ---- */

static int query_me(struct gql_call *call, struct gql_val *out)
{
	struct api_req *r = api_gql_req(call);
	struct user u;
	int rc = accounts_me(&r->ctx, &u);

	if (rc != ERR_OK)
		return api_gql_outcome(call, rc);
	out->kind = GQL_V_JSON;
	out->json = render_user(r->arena, &u);
	return ERR_OK;
}

/* One row per Type.field: the function that resolves it, or the member of the parent's
 * rendered object it reads. GQL_AUTH: needs an access token. size_arg / list_size: how
 * many items a list field may return, for the cost limit. */
/* clang-format off */
static const struct gql_resolver_def resolvers[] = {
	{ "Query.me",            query_me, NULL,             GQL_AUTH, NULL, 0 },
	{ "User.id",             NULL,     "id",             0,        NULL, 0 },
	{ "User.email",          NULL,     "email",          0,        NULL, 0 },
	{ "User.firstName",      NULL,     "first_name",     0,        NULL, 0 },
	{ "User.lastName",       NULL,     "last_name",      0,        NULL, 0 },
	{ "User.role",           NULL,     "role",           0,        NULL, 0 },
	{ "User.accountType",    NULL,     "account_type",   0,        NULL, 0 },
	{ "User.emailVerified",  NULL,     "email_verified", 0,        NULL, 0 },
	{ "User.loginOtp",       NULL,     "login_otp",      0,        NULL, 0 },
	{ "User.createdAt",      NULL,     "created_at",     0,        NULL, 0 },
	{ "User.updatedAt",      NULL,     "updated_at",     0,        NULL, 0 },
};
/* clang-format on */

const struct gql_schema_spec api_graphql_spec = {
    "Medrin's GraphQL API: the data and rules of the REST API under /api/v1, one request "
    "at a time.",
    types,
    GQL_N(types),
    resolvers,
    GQL_N(resolvers),
    "Query",
    NULL,
    api_gql_authorize,
};
