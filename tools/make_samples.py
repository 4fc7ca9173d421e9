"""Make OCRlty's sample documents (all invented): a receipt photo-like PNG, a two-page digital
invoice PDF with a text layer (and a password-protected copy, and a Factur-X copy carrying its
CII XML), and a scanned (image-only) PDF of a receipt. Also the e-invoice test PDFs of
crates/api/tests/data (the Factur-X invoice with an XML that disagrees with its pages, and with a
broken XML) and the XML fixtures of crates/einvoice/tests/fixtures (tools/make_einvoices.py).

Run through scripts/make-samples, which provides Pillow, reportlab and pypdf in a local venv.
Output is deterministic (fixed seeds, fixed PDF timestamps), so re-running changes nothing.
"""

import io
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = os.environ.get("SAMPLE_FONT_DIR", "/usr/share/fonts/truetype/dejavu")
OUT = sys.argv[1] if len(sys.argv) > 1 else "samples"


def font(name, size):
    path = os.path.join(FONT_DIR, name)
    if not os.path.exists(path):
        sys.exit(f"font {path} missing: apt-get install fonts-dejavu-core, or set SAMPLE_FONT_DIR")
    return ImageFont.truetype(path, size)


def receipt_image(lines, width=560, seed=1):
    """Draw a till receipt: centred header, left/right aligned item rows."""
    regular, bold, mono = font("DejaVuSans.ttf", 22), font("DejaVuSans-Bold.ttf", 28), font("DejaVuSansMono.ttf", 21)
    height = 60 + 34 * len(lines)
    img = Image.new("RGB", (width, height), (250, 248, 240))
    d = ImageDraw.Draw(img)
    y = 30
    for kind, left, right in lines:
        f = {"title": bold, "head": regular, "row": mono}[kind]
        if kind in ("title", "head"):
            w = d.textlength(left, font=f)
            d.text(((width - w) / 2, y), left, font=f, fill=(20, 20, 20))
        else:
            d.text((30, y), left, font=f, fill=(25, 25, 25))
            if right:
                w = d.textlength(right, font=f)
                d.text((width - 30 - w, y), right, font=f, fill=(25, 25, 25))
        y += 40 if kind == "title" else 34
    rnd = random.Random(seed)
    px = img.load()
    for _ in range(width * height // 40):  # paper speckle
        x, yy = rnd.randrange(width), rnd.randrange(height)
        v = rnd.randrange(180, 245)
        px[x, yy] = (v, v, v - 5)
    return img.filter(ImageFilter.GaussianBlur(0.6))


RECEIPT = [
    ("title", "KEDAI RUNCIT MAJU JAYA SDN BHD", None),
    ("head", "(1234567-K)", None),
    ("head", "No. 12, Jalan Bunga Raya 3/2", None),
    ("head", "43300 Seri Kembangan, Selangor", None),
    ("head", "Tel: 03-8945 1122", None),
    ("head", "SST ID: W10-1808-32000123", None),
    ("head", "TAX INVOICE", None),
    ("row", "Invoice No: KRM-000482", None),
    ("row", "Date: 14/03/2024  10:42 AM", None),
    ("row", "Cashier: AINA", None),
    ("row", "Item              Qty   Amount", None),
    ("row", "Milo 1kg           1", "22.90"),
    ("row", "Gardenia Bread     2", "9.60"),
    ("row", "Telur Gred A 30s   1", "13.50"),
    ("row", "Minyak Masak 2kg   1", "15.80"),
    ("row", "Sub Total", "61.80"),
    ("row", "SST 6%", "3.71"),
    ("row", "Rounding", "-0.01"),
    ("row", "TOTAL (RM)", "65.50"),
    ("row", "Cash", "70.00"),
    ("row", "Change", "4.50"),
    ("head", "Thank you, please come again", None),
]


def invoice_pdf(path, encrypt=None):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("DejaVu", os.path.join(FONT_DIR, "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont("DejaVu-Bold", os.path.join(FONT_DIR, "DejaVuSans-Bold.ttf")))
    c = canvas.Canvas(path, pagesize=A4, invariant=1, encrypt=encrypt)
    c.setTitle("Rechnung RE-2024-0117")
    w, h = A4
    c.setFont("DejaVu-Bold", 18)
    c.drawString(50, h - 60, "Muster Bürobedarf GmbH")
    c.setFont("DejaVu", 10)
    c.drawString(50, h - 78, "Hauptstraße 5, 10115 Berlin · USt-IdNr. DE123456789")
    c.setFont("DejaVu-Bold", 14)
    c.drawString(50, h - 130, "Rechnung")
    c.setFont("DejaVu", 10)
    for i, (k, v) in enumerate([("Rechnungsnummer:", "RE-2024-0117"), ("Rechnungsdatum:", "15.03.2024"),
                                ("Kunde:", "Beispiel AG, Lindenweg 9, 80331 München")]):
        c.drawString(50, h - 155 - 15 * i, k)
        c.drawString(170, h - 155 - 15 * i, v)
    y = h - 230
    c.setFont("DejaVu-Bold", 10)
    for x, t in [(50, "Pos."), (90, "Beschreibung"), (360, "Menge"), (420, "Einzelpreis"), (500, "Betrag")]:
        c.drawString(x, y, t)
    c.setFont("DejaVu", 10)
    items = [("Kopierpapier A4 80 g (5 × 500 Blatt)", 4, "24,90"), ("Tintenpatrone schwarz XL", 2, "38,50"),
             ("Ordner breit, blau", 10, "2,95"), ("Kugelschreiber (10er Pack)", 3, "6,40")]
    for i, (d, q, p) in enumerate(items):
        y -= 18
        amount = f"{q * float(p.replace(',', '.')):.2f}".replace(".", ",")
        c.drawString(50, y, str(i + 1))
        c.drawString(90, y, d)
        c.drawRightString(390, y, str(q))
        c.drawRightString(470, y, f"{p} €")
        c.drawRightString(545, y, f"{amount} €")
    c.drawString(50, 60, "Seite 1 von 2 · Fortsetzung auf Seite 2")
    c.showPage()
    c.setFont("DejaVu", 10)
    c.drawString(50, h - 60, "Muster Bürobedarf GmbH · Rechnung RE-2024-0117 · Seite 2 von 2")
    rows = [("Nettobetrag", "225,50 €"), ("USt. 19 %", "42,85 €"), ("Gesamtbetrag", "268,35 €")]
    y = h - 120
    for k, v in rows:
        c.setFont("DejaVu-Bold" if k == "Gesamtbetrag" else "DejaVu", 11)
        c.drawString(330, y, k)
        c.drawRightString(545, y, v)
        y -= 18
    c.setFont("DejaVu", 9)
    c.drawString(50, y - 30, "Zahlbar innerhalb von 14 Tagen ohne Abzug. IBAN DE02 1203 0000 0000 2020 51")
    c.showPage()
    c.save()


def embed_xml(pdf_path, out_path, xml, name="factur-x.xml"):
    """A copy of `pdf_path` carrying `xml` as the embedded file `name` (EmbeddedFiles name tree
    and the catalogue's /AF, as Factur-X / PDF/A-3 put it)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, NameObject

    writer = PdfWriter(clone_from=PdfReader(pdf_path))
    spec = writer.add_attachment(name, xml.encode("utf-8"))
    if spec is not None and hasattr(spec, "pdf_object"):
        writer._root_object[NameObject("/AF")] = ArrayObject([spec.pdf_object.indirect_reference])
    writer._ID = None
    with open(out_path, "wb") as f:
        writer.write(f)


SCAN = [
    ("title", "CORNER CAFE LLC", None),
    ("head", "210 Market Street, Springfield", None),
    ("head", "(555) 014-2280", None),
    ("row", "Date: 03/22/2024   08:15", None),
    ("row", "Order #1043", None),
    ("row", "Latte (L)", "$4.75"),
    ("row", "Blueberry Muffin", "$3.25"),
    ("row", "Bagel w/ Cream Cheese", "$3.95"),
    ("row", "Subtotal", "$11.95"),
    ("row", "Sales Tax 8.25%", "$0.99"),
    ("row", "Total", "$12.94"),
    ("row", "VISA ****4821", "$12.94"),
    ("head", "Thank you!", None),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    receipt_image(RECEIPT).save(os.path.join(OUT, "receipt-kedai-runcit.png"), optimize=True)
    invoice_pdf(os.path.join(OUT, "invoice-muster-buerobedarf.pdf"))
    # The same invoice behind a user password: readers must refuse it with a clear error.
    invoice_pdf(os.path.join(OUT, "encrypted-invoice.pdf"), encrypt="secret")
    # The same invoice as a Factur-X (EN 16931) e-invoice: the CII XML embedded as factur-x.xml.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import make_einvoices

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    make_einvoices.main_to(os.path.join(root, "crates", "einvoice", "tests", "fixtures"))
    plain = os.path.join(OUT, "invoice-muster-buerobedarf.pdf")
    xml = make_einvoices.cii(make_einvoices.MUSTER)
    embed_xml(plain, os.path.join(OUT, "facturx-muster-buerobedarf.pdf"), xml)
    data = os.path.join(root, "crates", "api", "tests", "data")
    os.makedirs(data, exist_ok=True)
    # Picture and XML disagree: the XML's total and date differ from what the pages print.
    wrong = xml.replace("<ram:GrandTotalAmount>268.35<", "<ram:GrandTotalAmount>286.35<")
    wrong = wrong.replace(">20240315<", ">20240316<")
    embed_xml(plain, os.path.join(data, "facturx-disagreeing.pdf"), wrong)
    # A broken XML: the pages must still be read, with a warning.
    embed_xml(plain, os.path.join(data, "facturx-broken-xml.pdf"), xml[:700], name="zugferd-invoice.xml")
    # A scan: the receipt printed, slightly rotated, greyscale, JPEG-compressed, wrapped in a PDF
    # page at 200 dpi with no text layer.
    scan = receipt_image(SCAN, width=620, seed=7).convert("L").rotate(1.2, expand=True, fillcolor=235)
    buf = io.BytesIO()
    scan.save(buf, "JPEG", quality=80)
    Image.open(buf).save(os.path.join(OUT, "scanned-receipt-corner-cafe.pdf"), "PDF", resolution=200.0)
    print("samples written to", OUT)


if __name__ == "__main__":
    main()
