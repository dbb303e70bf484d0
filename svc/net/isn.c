/* RFC 6528 initial sequence numbers with SipHash-2-4: see isn.h. */
#include "isn.h"

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

struct sip {
	uint64_t v0, v1, v2, v3;
};

static void sipround(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

/* One 64-bit word through two compression rounds. */
static void compress(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sipround(s);
	sipround(s);
	s->v0 ^= m;
}

/* Bytes p[0..n) (n <= 8) as a little-endian word. */
static uint64_t load_le(const uint8_t *p, size_t n)
{
	uint64_t w = 0;

	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

uint64_t siphash24(const uint64_t key[2], const void *msg, size_t len)
{
	const uint8_t *p = msg;
	struct sip s = { key[0] ^ 0x736f6d6570736575ull, key[1] ^ 0x646f72616e646f6dull,
			 key[0] ^ 0x6c7967656e657261ull, key[1] ^ 0x7465646279746573ull };
	size_t full = len & ~(size_t)7;

	for (size_t i = 0; i < full; i += 8)
		compress(&s, load_le(p + i, 8));
	compress(&s, load_le(p + full, len - full) | ((uint64_t)(len & 0xff) << 56));
	s.v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint32_t isn_make(const uint64_t key[2], uint32_t local_ip, uint16_t local_port, uint32_t remote_ip,
		  uint16_t remote_port, uint64_t now_ns)
{
	uint8_t t[12];

	for (int i = 0; i < 4; i++) {
		t[i] = (uint8_t)(local_ip >> (8 * i));
		t[4 + i] = (uint8_t)(remote_ip >> (8 * i));
	}
	t[8] = (uint8_t)local_port;
	t[9] = (uint8_t)(local_port >> 8);
	t[10] = (uint8_t)remote_port;
	t[11] = (uint8_t)(remote_port >> 8);
	return (uint32_t)(now_ns / ISN_TICK_NS) + (uint32_t)siphash24(key, t, sizeof(t));
}
