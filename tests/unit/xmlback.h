/*
 * Helpers for the tests of the voice renderers (test_twilio_voice.c, test_plivo.c,
 * test_vxml.c): read a rendered document back with libxml2's parser, so a test checks the
 * structure and the unescaped values an XML reader (the provider) will see, not only the
 * bytes. Included by such tests (not built on its own).
 */
#ifndef HISAAB_TESTS_UNIT_XMLBACK_H
#define HISAAB_TESTS_UNIT_XMLBACK_H

#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* The document in b, parsed strictly (no network, no entities); fails the test if it is
 * not well-formed. Free with xmlFreeDoc(). */
__attribute__((unused)) static xmlDocPtr xml_back(const struct buf *b)
{
    xmlDocPtr doc = xmlReadMemory(b->data, (int)b->len, "rendered.xml", "UTF-8",
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

    assert_non_null(doc);
    assert_non_null(xmlDocGetRootElement(doc));
    return doc;
}

/* The n-th element child of node (0 first), or NULL. */
__attribute__((unused)) static xmlNodePtr xml_child(xmlNodePtr node, int n)
{
    xmlNodePtr c;

    for (c = node != NULL ? node->children : NULL; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && n-- == 0)
            return c;
    return NULL;
}

/* The number of element children of node. */
__attribute__((unused)) static int xml_nchildren(xmlNodePtr node)
{
    xmlNodePtr c;
    int n = 0;

    for (c = node->children; c != NULL; c = c->next)
        n += c->type == XML_ELEMENT_NODE;
    return n;
}

/* Fail unless node is an element named name. */
__attribute__((unused)) static void xml_is(xmlNodePtr node, const char *name)
{
    assert_non_null(node);
    assert_string_equal((const char *)node->name, name);
}

/* Fail unless node's attribute name is value (NULL: absent), as a reader sees it. */
__attribute__((unused)) static void xml_attr_is(xmlNodePtr node, const char *name,
                                                const char *value)
{
    xmlChar *v = xmlGetProp(node, (const xmlChar *)name);

    if (value == NULL) {
        assert_null(v);
    } else {
        assert_non_null(v);
        assert_string_equal((const char *)v, value);
    }
    xmlFree(v);
}

/* Fail unless node's text content is text. */
__attribute__((unused)) static void xml_text_is(xmlNodePtr node, const char *text)
{
    xmlChar *v = xmlNodeGetContent(node);

    assert_non_null(v);
    assert_string_equal((const char *)v, text);
    xmlFree(v);
}

#endif
