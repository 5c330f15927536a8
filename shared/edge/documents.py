"""Printable documents (a meeting's record, monthly reports) as Markdown or HTML, zh-CN first.

A document is a list of blocks, built once by the service and rendered in either format:
("h1"|"h2"|"p", text), ("list", [text]), ("table", [header], [[cell]]).
"""
from __future__ import annotations

import html
from typing import Any

from werkzeug.wrappers import Request, Response

from shared.errors import InvalidInput
from shared.edge.http import Reply, json_response, wants_english

Block = tuple
FORMATS = ("json", "markdown", "html")
DOCUMENT = Reply("the document as JSON, or to print: ?format=markdown|html (or Accept), ?lang=zh|en",
                 ("application/json", "text/markdown", "text/html"))  # what document_response answers


def negotiate(request: Request) -> tuple[str, str]:
    """(format, language): ?format=json|markdown|html (else the Accept header), ?lang=zh|en (else Accept-Language)."""
    fmt = request.args.get("format")
    if fmt is None:
        best = request.accept_mimetypes.best_match(["application/json", "text/markdown", "text/html"],
                                                   default="application/json")
        fmt = {"text/markdown": "markdown", "text/html": "html"}.get(best, "json")
    if fmt in ("md",):
        fmt = "markdown"
    if fmt not in FORMATS:
        raise InvalidInput("format must be json, markdown or html", "format", "format 必须是 json、markdown 或 html")
    lang = request.args.get("lang")
    if lang is None:
        lang = "en" if wants_english(request) else "zh"
    if lang not in ("zh", "en"):
        raise InvalidInput("lang must be zh or en", "lang", "lang 必须是 zh 或 en")
    return fmt, lang


def _md_cell(value: Any) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind == "h1":
            out.append(f"# {block[1]}")
        elif kind == "h2":
            out.append(f"## {block[1]}")
        elif kind == "p":
            out.append(str(block[1]))
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in block[1]) if block[1] else "—")
        elif kind == "table":
            headers, rows = block[1], block[2]
            if not rows:
                out.append("—")
                continue
            lines = ["| " + " | ".join(map(_md_cell, headers)) + " |", "|" + "---|" * len(headers)]
            lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in rows]
            out.append("\n".join(lines))
        out.append("")
    return "\n".join(out)


def to_html(blocks: list[Block], lang: str) -> str:
    e = html.escape
    title = next((b[1] for b in blocks if b[0] == "h1"), "")
    body: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "p"):
            body.append(f"<{kind}>{e(str(block[1]))}</{kind}>")
        elif kind == "list":
            items = "".join(f"<li>{e(str(i))}</li>" for i in block[1])
            body.append(f"<ul>{items}</ul>" if block[1] else "<p>—</p>")
        elif kind == "table":
            if not block[2]:
                body.append("<p>—</p>")
                continue
            head = "".join(f"<th>{e(str(h))}</th>" for h in block[1])
            rows = "".join("<tr>" + "".join(f"<td>{e(str(c if c is not None else ''))}</td>" for c in row) + "</tr>"
                           for row in block[2])
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    style = ("body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;max-width:60em;margin:2em auto}"
             "table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.3em .5em;text-align:left}"
             "@media print{body{margin:0}}")
    return (f'<!DOCTYPE html>\n<html lang="{"en" if lang == "en" else "zh-CN"}"><head><meta charset="utf-8">'
            f"<title>{e(title)}</title><style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def document_response(request: Request, body: dict[str, Any], blocks_for, filename: str) -> Response:
    """JSON `body`, or the document `blocks_for(lang)` renders, as the client asked."""
    fmt, lang = negotiate(request)
    if fmt == "json":
        return json_response(body)
    blocks = blocks_for(lang)
    language = "en" if lang == "en" else "zh-CN"
    if fmt == "markdown":
        return Response(markdown(blocks), content_type="text/markdown; charset=utf-8",
                        headers={"Content-Language": language,
                                 "Content-Disposition": f'inline; filename="{filename}.md"'})
    return Response(to_html(blocks, lang), content_type="text/html; charset=utf-8",
                    headers={"Content-Language": language})
