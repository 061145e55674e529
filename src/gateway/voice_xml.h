/*
 * The XML writer the voice renderers share (twilio_voice.c, plivo.c, vxml.c): libxml2's
 * xmlTextWriter on a memory buffer, so element text and attribute values are always
 * escaped by libxml2 (a URL's '&' becomes "&amp;"), never pasted into markup. The document
 * is written without indentation, as "<?xml version="1.0" encoding="UTF-8"?>\n<root>..
 * </root>\n", and copied whole into the caller's capped buffer at the end.
 */
#ifndef HISAAB_GATEWAY_VOICE_XML_H
#define HISAAB_GATEWAY_VOICE_XML_H

#include <stddef.h>

#include <libxml/xmlwriter.h>

#include "core/buf.h"

struct voice_xml {
    xmlBufferPtr mem;
    xmlTextWriterPtr w; /* write with xmlTextWriter*() between open and close */
};

/* Start a document (UTF-8) in x. Returns 0, or -1 (nothing to free then). */
int voice_xml_open(struct voice_xml *x) WUR;

/* Start the element name, with attributes attrs[0..] as name, value pairs ending in NULL
 * (attrs may be NULL). Returns 0 or -1. */
int voice_xml_start(struct voice_xml *x, const char *name, const char *const *attrs) WUR;

/* An element with attrs (as voice_xml_start) and text content (NULL: an empty element,
 * written <name/>). Returns 0 or -1. */
int voice_xml_element(struct voice_xml *x, const char *name, const char *const *attrs,
                      const char *text) WUR;

/* voice_xml_element(x, name, NULL, texts[i]) for each of texts[0..n) (e.g. one <Play>
 * per URL). Returns 0 or -1. */
int voice_xml_each(struct voice_xml *x, const char *name, const char *const *texts, size_t n) WUR;

/* End the element started last. Returns 0 or -1. */
int voice_xml_end(struct voice_xml *x) WUR;

/* End the document and append it to out. Returns 0, or -1 (a writer error or out's cap:
 * out is then as it was). x is freed either way. */
int voice_xml_close(struct voice_xml *x, struct buf *out) WUR;

/* Free x without output (after an error); a freed or never opened x is fine. */
void voice_xml_free(struct voice_xml *x);

struct voice_step;

/*
 * The one document shape Twilio's TwiML and Plivo's XML share, appended to out: a
 * <Response> that gathers (the element `gather` with gather_attrs, its <Play>s inside,
 * then a <Redirect> to the action for when nothing is pressed), or plays and then
 * redirects or hangs up. s is checked first (voice_step_check). Returns 0, or -1 with out
 * as it was.
 */
int voice_xml_response(const struct voice_step *s, const char *gather,
                       const char *const *gather_attrs, struct buf *out) WUR;

/* A <Response> holding only <element reason="busy"/> (a call turned away unanswered). */
int voice_xml_busy(const char *element, struct buf *out) WUR;

#endif
