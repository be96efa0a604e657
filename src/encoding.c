/* Accept-Encoding negotiation: q-values, "*" and identity, as RFC 9110
 * (12.4.2, 12.5.3) reads them, with no allocation. */
#include "encoding.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const names[_CODING_MAX] = { "identity", "br", "gzip" };
static const char *const suffixes[_CODING_MAX] = { NULL, ".br", ".gz" };

const char *coding_name(Coding c) {
        return c < _CODING_MAX ? names[c] : "identity";
}

const char *coding_suffix(Coding c) {
        return c < _CODING_MAX ? suffixes[c] : NULL;
}

static bool is_ows(char ch) {
        return ch == ' ' || ch == '\t';
}

/* A qvalue: "0", "0.xxx", "1", "1.000" (RFC 9110 12.4.2). -1 if malformed. */
static int parse_qvalue(const char *s, size_t n) {
        int q, scale = 100;

        if (n == 0 || (s[0] != '0' && s[0] != '1'))
                return -1;
        q = (s[0] - '0') * 1000;
        if (n == 1)
                return q;
        if (s[1] != '.' || n > 5)
                return -1;
        for (size_t i = 2; i < n; i++, scale /= 10) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                q += (s[i] - '0') * scale;
        }
        return q > 1000 ? -1 : q;
}

/* The q of one element's parameters (";q=0.5"), 1000 without one, -1 when
 * they cannot be read. */
static int parse_params(const char *p, const char *end) {
        int q = 1000;

        while (p < end) {
                while (p < end && is_ows(*p))
                        p++;
                if (p == end)
                        break;
                if (*p != ';')
                        return -1;
                p++;
                while (p < end && is_ows(*p))
                        p++;
                const char *name = p;
                while (p < end && *p != '=' && *p != ';' && !is_ows(*p))
                        p++;
                size_t name_len = (size_t) (p - name);
                while (p < end && is_ows(*p))
                        p++;
                if (p == end || *p != '=')
                        return -1;
                p++;
                while (p < end && is_ows(*p))
                        p++;
                const char *val = p;
                while (p < end && *p != ';' && !is_ows(*p))
                        p++;
                if (name_len == 1 && (*name == 'q' || *name == 'Q')) {
                        q = parse_qvalue(val, (size_t) (p - val));
                        if (q < 0)
                                return -1;
                }
        }
        return q;
}

/* Which coding a token names: a Coding, _CODING_MAX for "*", -1 for others. */
static int token_coding(const char *t, size_t n) {
        if (n == 1 && *t == '*')
                return _CODING_MAX;
        if (n == 6 && strncasecmp(t, "x-gzip", 6) == 0)
                return CODING_GZIP;
        for (int c = 0; c < _CODING_MAX; c++)
                if (strlen(names[c]) == n && strncasecmp(t, names[c], n) == 0)
                        return c;
        return -1;
}

void encoding_parse_accept(const char *value, EncodingAccept *ret) {
        int q[_CODING_MAX + 1]; /* the last one for "*"; -1: not listed */
        const char *p = value;

        *ret = (EncodingAccept) { .q = { [CODING_IDENTITY] = 1000 } };
        if (!value)
                return;
        for (size_t i = 0; i <= _CODING_MAX; i++)
                q[i] = -1;
        while (*p) {
                const char *elem = p, *end = strchr(p, ',');
                if (!end)
                        end = p + strlen(p);
                p = *end ? end + 1 : end;
                while (elem < end && is_ows(*elem))
                        elem++;
                const char *tok_end = elem;
                while (tok_end < end && *tok_end != ';' && !is_ows(*tok_end))
                        tok_end++;
                if (tok_end == elem)
                        continue; /* an empty element: allowed by the list rule */
                int c = token_coding(elem, (size_t) (tok_end - elem));
                int v = parse_params(tok_end, end);
                if (c < 0 || v < 0)
                        continue;
                if (q[c] < v) /* listed twice: the kinder one */
                        q[c] = v;
        }
        for (int c = 0; c < _CODING_MAX; c++) {
                if (q[c] >= 0)
                        ret->q[c] = (uint16_t) q[c];
                else if (q[_CODING_MAX] >= 0)
                        ret->q[c] = (uint16_t) q[_CODING_MAX];
                else /* identity unlisted: acceptable, after whatever is listed */
                        ret->q[c] = c == CODING_IDENTITY ? 1 : 0;
        }
}

Coding encoding_choose(const EncodingAccept *a, unsigned available, const CodingOrder *order) {
        Coding best = CODING_IDENTITY;
        unsigned best_q = a->q[CODING_IDENTITY];
        bool compressed = false;

        for (size_t i = 0; i < order->n; i++) {
                Coding c = order->coding[i];
                if (!(available & CODING_BIT(c)) || a->q[c] == 0)
                        continue;
                /* the first compressed coding wins a tie with identity */
                if (a->q[c] > best_q || (!compressed && a->q[c] == best_q)) {
                        best = c;
                        best_q = a->q[c];
                        compressed = true;
                }
        }
        return best;
}

int encoding_parse_order(const char *value, CodingOrder *ret) {
        CodingOrder o = { .n = 0 };
        const char *p = value;

        if (strcmp(value, "off") == 0) {
                *ret = o;
                return 0;
        }
        for (;;) {
                while (is_ows(*p))
                        p++;
                size_t n = strcspn(p, ", \t");
                Coding c;
                if (n == 2 && strncmp(p, "br", 2) == 0)
                        c = CODING_BR;
                else if (n == 2 && strncmp(p, "gz", 2) == 0)
                        c = CODING_GZIP;
                else
                        return -EINVAL;
                for (size_t i = 0; i < o.n; i++)
                        if (o.coding[i] == c)
                                return -EINVAL;
                o.coding[o.n++] = c;
                p += n;
                while (is_ows(*p))
                        p++;
                if (!*p)
                        break;
                if (*p != ',')
                        return -EINVAL;
                p++;
        }
        *ret = o;
        return 0;
}

void encoding_format_order(const CodingOrder *o, char *buf, size_t size) {
        size_t len = 0;

        if (size == 0)
                return;
        buf[0] = '\0';
        if (o->n == 0) {
                snprintf(buf, size, "off");
                return;
        }
        for (size_t i = 0; i < o->n && len < size; i++) {
                int n = snprintf(buf + len, size - len, "%s%s", i ? "," : "",
                                 o->coding[i] == CODING_BR ? "br" : "gz");
                if (n < 0)
                        return;
                len += (size_t) n;
        }
}
