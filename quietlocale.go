package main

/*
#include <stdlib.h>
#include <string.h>

extern char **environ;

// The locale variable whose codeset was hidden, and the codeset.
static const char *golive_locale_name;
static char golive_locale_codeset[64];

// golive_hide_c_codeset runs before Go's runtime reads the environment.
// When the locale in force is "C.<codeset>" or "POSIX.<codeset>" (Debian's
// and Ubuntu's containers default to LANG=C.UTF-8), it cuts the codeset
// off in place, so Go sees plain "C": Fyne parses the locale in a package
// init and would log three error lines for "C.UTF-8", before main could
// silence it. restoreLocale puts the codeset back.
__attribute__((constructor)) static void golive_hide_c_codeset(void) {
	static const char *names[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
	for (int n = 0; n < 3; n++) {
		size_t k = strlen(names[n]);
		for (char **e = environ; e && *e; e++) {
			if (strncmp(*e, names[n], k) != 0 || (*e)[k] != '=') {
				continue;
			}
			char *v = *e + k + 1;
			if (*v == 0) {
				break; // empty: the next variable decides
			}
			char *dot = strchr(v, '.');
			if (dot == NULL || strlen(dot) >= sizeof golive_locale_codeset) {
				return;
			}
			size_t base = (size_t)(dot - v);
			if ((base == 1 && v[0] == 'C') || (base == 5 && strncmp(v, "POSIX", 5) == 0)) {
				strcpy(golive_locale_codeset, dot);
				golive_locale_name = names[n];
				*dot = 0;
			}
			return;
		}
	}
}

static const char *golive_hidden_locale(void) { return golive_locale_name; }
static const char *golive_hidden_codeset(void) { return golive_locale_codeset; }
*/
import "C"

import "os"

// restoreLocale gives the locale variable back the codeset hidden from
// Fyne's package init, so child processes see the environment unchanged.
func restoreLocale() {
	name := C.golive_hidden_locale()
	if name == nil {
		return
	}
	key := C.GoString(name)
	_ = os.Setenv(key, os.Getenv(key)+C.GoString(C.golive_hidden_codeset()))
}
