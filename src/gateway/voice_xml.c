/*
 * The voice renderers' XML writer; see voice_xml.h.
 */
#include "gateway/voice_xml.h"

#include <string.h>

#include "gateway/voice_step.h"

int voice_xml_open(struct voice_xml *x)
{
    int rc = -1;

    x->w = NULL;
    x->mem = xmlBufferCreate();
    if (x->mem == NULL)
        goto out;
    x->w = xmlNewTextWriterMemory(x->mem, 0);
    if (x->w == NULL || xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL) < 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        voice_xml_free(x);
    return rc;
}

int voice_xml_start(struct voice_xml *x, const char *name, const char *const *attrs)
{
    size_t i;

    if (xmlTextWriterStartElement(x->w, (const xmlChar *)name) < 0)
        return -1;
    for (i = 0; attrs != NULL && attrs[i] != NULL; i += 2)
        if (xmlTextWriterWriteAttribute(x->w, (const xmlChar *)attrs[i],
                                        (const xmlChar *)attrs[i + 1]) < 0)
            return -1;
    return 0;
}

int voice_xml_element(struct voice_xml *x, const char *name, const char *const *attrs,
                      const char *text)
{
    if (voice_xml_start(x, name, attrs) != 0 ||
        (text != NULL && xmlTextWriterWriteString(x->w, (const xmlChar *)text) < 0))
        return -1;
    return voice_xml_end(x);
}

int voice_xml_each(struct voice_xml *x, const char *name, const char *const *texts, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (voice_xml_element(x, name, NULL, texts[i]) != 0)
            return -1;
    return 0;
}

int voice_xml_end(struct voice_xml *x)
{
    return xmlTextWriterEndElement(x->w) < 0 ? -1 : 0;
}

int voice_xml_close(struct voice_xml *x, struct buf *out)
{
    int rc = -1;

    /* Freeing the writer flushes it into the memory buffer. */
    if (xmlTextWriterEndDocument(x->w) < 0)
        goto out;
    xmlFreeTextWriter(x->w);
    x->w = NULL;
    if (buf_append(out, xmlBufferContent(x->mem), (size_t)xmlBufferLength(x->mem)) != 0)
        goto out;
    rc = 0;
out:
    voice_xml_free(x);
    return rc;
}

void voice_xml_free(struct voice_xml *x)
{
    if (x->w != NULL)
        xmlFreeTextWriter(x->w);
    if (x->mem != NULL)
        xmlBufferFree(x->mem);
    x->w = NULL;
    x->mem = NULL;
}

int voice_xml_response(const struct voice_step *s, const char *gather,
                       const char *const *gather_attrs, struct buf *out)
{
    static const char *const post[] = {"method", "POST", NULL};
    struct voice_xml x = {NULL, NULL};
    size_t at = out->len;
    int rc = -1;

    if (voice_step_check(s) != 0 || voice_xml_open(&x) != 0)
        goto out;
    if (voice_xml_start(&x, "Response", NULL) != 0)
        goto out;
    if (s->gather) {
        if (voice_xml_start(&x, gather, gather_attrs) != 0 ||
            voice_xml_each(&x, "Play", s->play, s->nplay) != 0 || voice_xml_end(&x) != 0 ||
            voice_xml_element(&x, "Redirect", post, s->action) != 0)
            goto out;
    } else if (voice_xml_each(&x, "Play", s->play, s->nplay) != 0) {
        goto out;
    } else if (s->redirect != NULL) {
        if (voice_xml_element(&x, "Redirect", post, s->redirect) != 0)
            goto out;
    } else if (voice_xml_element(&x, "Hangup", NULL, NULL) != 0) {
        goto out;
    }
    if (voice_xml_end(&x) != 0)
        goto out;
    rc = voice_xml_close(&x, out);
out:
    voice_xml_free(&x);
    if (rc != 0 && out->len > at) {
        out->len = at;
        out->data[at] = '\0';
    }
    return rc;
}

int voice_xml_busy(const char *element, struct buf *out)
{
    static const char *const busy[] = {"reason", "busy", NULL};
    struct voice_xml x = {NULL, NULL};
    int rc = -1;

    if (voice_xml_open(&x) != 0 || voice_xml_start(&x, "Response", NULL) != 0 ||
        voice_xml_element(&x, element, busy, NULL) != 0 || voice_xml_end(&x) != 0)
        goto out;
    rc = voice_xml_close(&x, out);
out:
    voice_xml_free(&x);
    return rc;
}
