/* common_passwords.h - the table of common passwords new passwords are checked against
 * (password_check_new, password.h). Generated at build time by script/gen-common-passwords
 * from Debian's john-data list (/usr/share/john/password.lst; make variable
 * COMMON_PASSWORD_LIST): ASCII-lower-cased, deduplicated, sorted bytewise. */
#ifndef MEDRIN_COMMON_PASSWORDS_H
#define MEDRIN_COMMON_PASSWORDS_H

#include <stddef.h>

extern const char *const common_passwords[];
extern const size_t common_passwords_n;

#endif
