/*
 * lwIP's network interface over the NIC channel (svc/lib/nic.h): frames
 * lwIP sends are cast 'T' to the interface channel without blocking (a
 * full channel drops the frame and counts it: TCP retransmits, a ping is
 * lost), and frames the driver casts 'R' to IF.rx are handed to lwIP's
 * Ethernet input. net does not know, or need to know, which driver is
 * below.
 */
#include "net.h"

#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"
#include "nic.h"

static err_t link_output(struct netif *nif, struct pbuf *p)
{
	static uint8_t msg[NIC_MSG_MAX];
	int r;

	(void)nif;
	if (p->tot_len < NIC_FRAME_MIN || p->tot_len > NIC_FRAME_MAX) {
		net.tx_dropped++;
		return ERR_OK;
	}
	msg[0] = NIC_OP_TX;
	pbuf_copy_partial(p, msg + 1, p->tot_len, 0);
	r = ve_chan_cast(net.nic, msg, 1 + (size_t)p->tot_len, VE_NONBLOCK);
	if (r < 0)
		net.tx_dropped++;
	else
		net.tx_frames++;
	return ERR_OK;
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
