/* SPDX-License-Identifier: MIT */
/*
 * The decrypted service-account JSON: strict parsing, the string members
 * collected as entries, the PEM private key loaded and the public PEM
 * and JWKS derived from it. The seed with a real key is made at run time
 * by tests/fuzz/run.sh; no key is committed.
 */
#include "fuzz.h"

#include "account.h"
#include "options.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct account *a = (struct account *)&size;	/* must be reset */
	struct errbuf e = { { 0 } };
	const struct account_entry *ent;
	const unsigned char *json;
	size_t len, i;
	int r;

	fuzz_init();
	r = account_load(data, size, &a, &e);
	fuzz_check_result(r, &e);
	FUZZ_CHECK((r == 0) == (a != NULL));
	if (r != 0)
		return 0;

	json = account_json(a, &len);
	FUZZ_CHECK(len == size && memcmp(json, data, size) == 0);
	FUZZ_CHECK(account_get(a, "client_email") != NULL);
	for (i = 0; i < account_nentries(a); i++) {
		ent = account_entry(a, i);
		FUZZ_CHECK(ent != NULL);
		FUZZ_CHECK(options_safe_name(ent->name));
		FUZZ_CHECK(!account_reserved_name(ent->name));
		FUZZ_CHECK(strlen((const char *)ent->data) == ent->len);
		FUZZ_CHECK(account_get(a, ent->name) ==
		    (const char *)ent->data);
	}
	FUZZ_CHECK(account_entry(a, i) == NULL);
	FUZZ_CHECK(account_pkey(a) != NULL);
	FUZZ_CHECK(account_key_bits(a) >= ACCOUNT_KEY_MIN_BITS &&
	    account_key_bits(a) <= ACCOUNT_KEY_MAX_BITS);
	FUZZ_CHECK(strncmp(account_public_pem(a), "-----BEGIN PUBLIC KEY-----",
	    26) == 0);
	FUZZ_CHECK(account_jwks(a)[0] == '{');
	account_free(a);
	return 0;
}
