/* Content codings (RFC 9110, section 8.4 and 12.5.3): what a request's
 * Accept-Encoding allows, and which of the codings at hand to answer with.
 * Pure functions: no I/O, no logging. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The codings clusterd can answer with. */
typedef enum Coding {
        CODING_IDENTITY,
        CODING_BR,
        CODING_GZIP,
        _CODING_MAX,
} Coding;

#define CODING_BIT(c) (1u << (c))

/* The server's order of preference among the compressed codings, tried
 * first to last when the client rates several alike. */
typedef struct CodingOrder {
        Coding coding[_CODING_MAX - 1];
        size_t n; /* 0: none */
} CodingOrder;

/* What a request accepts: the quality of each coding, 0 (not acceptable)
 * to 1000 (q=1). */
typedef struct EncodingAccept {
        uint16_t q[_CODING_MAX];
} EncodingAccept;

/* The Content-Encoding name of c ("br", "gzip"; "identity"). */
const char *coding_name(Coding c);
/* The file-name suffix of a precompressed sibling (".br", ".gz"), or NULL
 * for identity. */
const char *coding_suffix(Coding c);

/* Reads an Accept-Encoding value; NULL means the header is absent, which
 * asks for identity alone (what curl and ab send nothing for). Listed
 * codings take their q, "*" rates every coding not listed, and identity is
 * acceptable unless "identity;q=0", or "*;q=0" without identity, says no;
 * left unlisted, it ranks below every coding listed (q=0.001).
 * "x-gzip" is gzip. Elements that cannot be read are skipped. */
void encoding_parse_accept(const char *value, EncodingAccept *ret);

/* The coding to answer with, among identity and the codings in `available`
 * (CODING_BIT()s): the highest q above 0; on a tie the first of `order`,
 * and identity after every compressed one. When nothing acceptable is at
 * hand, identity: an answer the client may not like beats a 406. */
Coding encoding_choose(const EncodingAccept *a, unsigned available, const CodingOrder *order);

/* Reads a `precompressed =` value: "off", or a comma-separated list of
 * "br" and "gz" (each at most once). -EINVAL otherwise. */
int encoding_parse_order(const char *value, CodingOrder *ret);
/* Writes an order back as the config spells it ("br,gz", "off"). */
void encoding_format_order(const CodingOrder *o, char *buf, size_t size);
