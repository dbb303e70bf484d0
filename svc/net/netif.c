/*
 * lwIP's network interface over the NIC channel (svc/lib/nic.h): frames
 * lwIP sends are cast 'T' to the interface channel without blocking (a
 * full channel drops the frame and counts it: TCP retransmits, a ping is
 * lost), and frames the driver casts 'R' to IF.rx are handed to lwIP's
 * Ethernet input. net does not know, or need to know, which driver is
 * below.
 *
 * Frames lwIP sends are queued (net.txq, in the stash) and cast by
 * netif_flush after the message that made them is answered: a cast is a
 * commit of the stash's recovery window, and one in the middle of a
 * request would commit half of it (lwIP's state moved, net's own not
 * yet), which a next incarnation would then handle a second time.
 */
#include "net.h"

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"
#include "nic.h"

/* Queue the frame for netif_flush; a full queue drops it (counted: TCP
 * retransmits). */
static err_t link_output(struct netif *nif, struct pbuf *p)
{
	struct net_txq *q = &net.txq;
	uint8_t *msg = q->buf + q->bytes;

	(void)nif;
	if (p->tot_len < NIC_FRAME_MIN || p->tot_len > NIC_FRAME_MAX || q->n == NET_TXQ_MAX ||
	    sizeof(q->buf) - q->bytes < NIC_MSG_MAX) {
		net.tx_dropped++;
		return ERR_OK;
	}
	msg[0] = NIC_OP_TX;
	pbuf_copy_partial(p, msg + 1, p->tot_len, 0);
	q->lens[q->n++] = 1 + (uint32_t)p->tot_len;
	q->bytes += 1 + (uint32_t)p->tot_len;
	return ERR_OK;
}

/*
 * Cast the queued frames, VE_BATCH_MAX at a time. Each batch is marked
 * sent before its castv, which commits: a death after it does not send
 * the batch again, and one before it leaves the batch to the next
 * incarnation's flush. What the channel has no room for is dropped.
 */
void netif_flush(void)
{
	struct net_txq *q = &net.txq;

	while (q->sent < q->n) {
		uint32_t first = q->sent, k = q->n - first, off = q->sent_bytes, len = 0;
		long r;

		k = k < VE_BATCH_MAX ? k : VE_BATCH_MAX;
		for (uint32_t i = 0; i < k; i++)
			len += q->lens[first + i];
		q->sent += k;
		q->sent_bytes += len;
		r = net.nic < 0
			? -VE_BADHANDLE
			: ve_chan_castv(net.nic, q->buf + off, q->lens + first, k, VE_NONBLOCK);
		r = r < 0 ? 0 : r;
		net.tx_frames += (uint64_t)r;
		net.tx_dropped += k - (uint64_t)r;
	}
	q->n = q->bytes = q->sent = q->sent_bytes = 0;
}

static err_t nif_init(struct netif *nif)
{
	nif->name[0] = 'e';
	nif->name[1] = 'n';
	nif->output = etharp_output;
	nif->linkoutput = link_output;
	nif->mtu = NIC_FRAME_MAX - NIC_HDR;
	nif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(nif->hwaddr, net.mac, ETH_HWADDR_LEN);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	return ERR_OK;
}

void netif_start(const ip4_addr_t *ip, const ip4_addr_t *mask, const ip4_addr_t *gw)
{
	netif_add(&net.nif, ip, mask, gw, NULL, nif_init, ethernet_input);
	netif_set_default(&net.nif);
	netif_set_link_up(&net.nif);
	netif_set_up(&net.nif);
}

void netif_frame_in(const uint8_t *frame, size_t len)
{
	struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);

	if (!p) {
		net.rx_dropped++;
		return;
	}
	pbuf_take(p, frame, (u16_t)len);
	if (net.nif.input(p, &net.nif) != ERR_OK)
		pbuf_free(p);
}

/* For lwIP's netif_find (port/stdlib.h): decimal digits, no sign needed. */
int atoi(const char *s)
{
	int v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}
