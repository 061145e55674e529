/*
 * VoiceXML 2.1 (W3C) for the platforms that run it (many Indian telecom IVR platforms and
 * open ones: a VoiceXML browser fetching documents over HTTP). The platform fetches the
 * application's start URL, then each <submit next> and <goto next> of our documents.
 *
 * What comes in: VoiceXML has no standard call id or caller parameters on a fetch, so
 * the fields are read under the names the platform is told to send (in the start URL's
 * query, e.g. ...?call_id=$SESSIONID&from=$ANI&to=$DNIS, whatever the platform's own
 * substitution syntax is) and under common alternatives: call_id (callid, sessionid,
 * session.sessionid), from (ani, caller, callerid, session.callerid), to (dnis, called,
 * calledid, session.calledid), digits, status, duration; in a POST's form body first,
 * then in the query. A leading "tel:" is dropped from from and to. The call flow keeps the
 * call's identity in the action and redirect URLs it gives (their query), since a
 * document's <submit> sends only the names in its namelist. call_id may therefore be ""
 * on a platform that sends none: the flow then names the call itself.
 *
 * A step (voice_step.h) becomes one document:
 *
 *   <?xml version="1.0" encoding="UTF-8"?>
 *   <vxml version="2.1" xmlns="http://www.w3.org/2001/vxml"><form id="step">
 *   gather:   <field name="digits" type="digits?minlength=1;maxlength=6">
 *               <property name="inputmodes" value="dtmf"/>
 *               <property name="timeout" value="10s"/>
 *               <property name="interdigittimeout" value="10s"/>
 *               <property name="termchar" value="#"/>   ("" when '#' does not end it)
 *               <prompt><audio src="URL"/>...</prompt>
 *               <noinput><var name="status" expr="'noinput'"/>
 *                 <submit next="ACTION" method="post" namelist="status"/></noinput>
 *               <nomatch><var name="status" expr="'nomatch'"/>
 *                 <submit next="ACTION" method="post" namelist="status"/></nomatch>
 *               <filled><submit next="ACTION" method="post" namelist="digits"/></filled>
 *             </field>
 *   redirect: <block><prompt><audio src="URL"/>...</prompt><goto next="URL"/></block>
 *   hangup:   <block><prompt><audio src="URL"/>...</prompt><disconnect/></block>
 *   </form></vxml>
 *
 * So the action gets digits=... (a POST form) when keys were pressed, or status=noinput
 * (nothing pressed before the timeout) or status=nomatch (keys the builtin digits grammar
 * does not take, such as '*'), without digits. A redirect is a GET (<goto>). timeout is
 * VoiceXML's wait for the first key, interdigittimeout between keys (both timeout_s).
 */
#ifndef HISAAB_GATEWAY_VXML_H
#define HISAAB_GATEWAY_VXML_H

#include "core/buf.h"
#include "gateway/voice_call.h"
#include "gateway/voice_step.h"

struct http_request;

/*
 * Take the call out of req into in. key (NULL or "": no check) must be the query's key
 * parameter (voice_call_key_ok). Returns 0, or -1 with *e set (403 for a wrong key, 400
 * for a field that is not valid). No field is required.
 */
int vxml_parse(struct http_request *req, const char *key, struct voice_call_in *in,
               struct gateway_error *e) WUR;

/* The same from a raw query (may be NULL) and a form body: what vxml_parse() reads. */
int vxml_parse_form(const char *query, struct slice body, const char *key, struct voice_call_in *in,
                    struct gateway_error *e) WUR;

/* Append the VoiceXML document for s to out. Returns 0, or -1 (s fails
 * voice_step_check(), a writer error, or out's cap; out is then as it was). */
int vxml_render(const struct voice_step *s, struct buf *out) WUR;

/* Answer req (200, application/voicexml+xml) with the document for s; a step that cannot
 * be rendered is answered with a disconnect and -1 returned. req is answered either way. */
int vxml_reply(struct http_request *req, const struct voice_step *s);

#endif
