"""The instrument universe the service quotes: real US-listed tickers, kept as data."""

from __future__ import annotations

from decimal import Decimal

from services.marketdata.instruments import AssetClass, Instrument

# (symbol, name, MIC, reference price). The reference price only seeds the simulated feed.
_EQUITIES: tuple[tuple[str, str, str, str], ...] = (
    ("AAPL", "Apple Inc.", "XNAS", "190.00"),
    ("MSFT", "Microsoft Corporation", "XNAS", "415.00"),
    ("GOOGL", "Alphabet Inc. Class A", "XNAS", "170.00"),
    ("GOOG", "Alphabet Inc. Class C", "XNAS", "172.00"),
    ("AMZN", "Amazon.com, Inc.", "XNAS", "185.00"),
    ("META", "Meta Platforms, Inc.", "XNAS", "500.00"),
    ("NVDA", "NVIDIA Corporation", "XNAS", "120.00"),
    ("TSLA", "Tesla, Inc.", "XNAS", "180.00"),
    ("AVGO", "Broadcom Inc.", "XNAS", "160.00"),
    ("COST", "Costco Wholesale Corporation", "XNAS", "850.00"),
    ("PEP", "PepsiCo, Inc.", "XNAS", "170.00"),
    ("ADBE", "Adobe Inc.", "XNAS", "500.00"),
    ("NFLX", "Netflix, Inc.", "XNAS", "650.00"),
    ("AMD", "Advanced Micro Devices, Inc.", "XNAS", "160.00"),
    ("INTC", "Intel Corporation", "XNAS", "30.00"),
    ("CSCO", "Cisco Systems, Inc.", "XNAS", "48.00"),
    ("QCOM", "QUALCOMM Incorporated", "XNAS", "200.00"),
    ("TXN", "Texas Instruments Incorporated", "XNAS", "195.00"),
    ("SBUX", "Starbucks Corporation", "XNAS", "78.00"),
    ("PYPL", "PayPal Holdings, Inc.", "XNAS", "62.00"),
    ("BRK.B", "Berkshire Hathaway Inc. Class B", "XNYS", "410.00"),
    ("JPM", "JPMorgan Chase & Co.", "XNYS", "200.00"),
    ("V", "Visa Inc.", "XNYS", "275.00"),
    ("MA", "Mastercard Incorporated", "XNYS", "450.00"),
    ("JNJ", "Johnson & Johnson", "XNYS", "150.00"),
    ("WMT", "Walmart Inc.", "XNYS", "68.00"),
    ("PG", "The Procter & Gamble Company", "XNYS", "165.00"),
    ("XOM", "Exxon Mobil Corporation", "XNYS", "115.00"),
    ("CVX", "Chevron Corporation", "XNYS", "155.00"),
    ("HD", "The Home Depot, Inc.", "XNYS", "350.00"),
    ("KO", "The Coca-Cola Company", "XNYS", "63.00"),
    ("ORCL", "Oracle Corporation", "XNYS", "140.00"),
    ("CRM", "Salesforce, Inc.", "XNYS", "250.00"),
    ("IBM", "International Business Machines Corporation", "XNYS", "175.00"),
    ("BAC", "Bank of America Corporation", "XNYS", "39.00"),
    ("WFC", "Wells Fargo & Company", "XNYS", "58.00"),
    ("GS", "The Goldman Sachs Group, Inc.", "XNYS", "460.00"),
    ("MS", "Morgan Stanley", "XNYS", "98.00"),
    ("DIS", "The Walt Disney Company", "XNYS", "100.00"),
    ("NKE", "NIKE, Inc.", "XNYS", "90.00"),
    ("MCD", "McDonald's Corporation", "XNYS", "260.00"),
    ("BA", "The Boeing Company", "XNYS", "180.00"),
    ("CAT", "Caterpillar Inc.", "XNYS", "340.00"),
    ("GE", "GE Aerospace", "XNYS", "165.00"),
    ("UNH", "UnitedHealth Group Incorporated", "XNYS", "500.00"),
    ("PFE", "Pfizer Inc.", "XNYS", "28.00"),
    ("MRK", "Merck & Co., Inc.", "XNYS", "128.00"),
    ("LLY", "Eli Lilly and Company", "XNYS", "800.00"),
    ("ABBV", "AbbVie Inc.", "XNYS", "165.00"),
    ("T", "AT&T Inc.", "XNYS", "18.00"),
    ("VZ", "Verizon Communications Inc.", "XNYS", "40.00"),
    ("UBER", "Uber Technologies, Inc.", "XNYS", "70.00"),
    ("SHOP", "Shopify Inc.", "XNYS", "65.00"),
)

_ETFS: tuple[tuple[str, str, str, str], ...] = (
    ("SPY", "SPDR S&P 500 ETF Trust", "ARCX", "530.00"),
    ("QQQ", "Invesco QQQ Trust, Series 1", "XNAS", "450.00"),
    ("IWM", "iShares Russell 2000 ETF", "ARCX", "205.00"),
    ("DIA", "SPDR Dow Jones Industrial Average ETF Trust", "ARCX", "390.00"),
    ("GLD", "SPDR Gold Shares", "ARCX", "215.00"),
    ("TLT", "iShares 20+ Year Treasury Bond ETF", "XNAS", "92.00"),
)

# Quoted, searchable, but closed to orders on this platform: one share costs a fortune.
_NOT_TRADABLE: tuple[tuple[str, str, str, str], ...] = (
    ("BRK.A", "Berkshire Hathaway Inc. Class A", "XNYS", "620000.00"),
)

_CENT = Decimal("0.01")
_ONE = Decimal("1")


def _instrument(
    row: tuple[str, str, str, str], asset_class: AssetClass, tradable: bool
) -> Instrument:
    symbol, name, exchange, price = row
    return Instrument(
        symbol=symbol,
        name=name,
        exchange=exchange,
        currency="USD",
        asset_class=asset_class,
        tick_size=_CENT,
        lot_size=_ONE,
        tradable=tradable,
        reference_price=Decimal(price),
    )


INSTRUMENTS: tuple[Instrument, ...] = (
    *(_instrument(row, AssetClass.EQUITY, True) for row in _EQUITIES),
    *(_instrument(row, AssetClass.ETF, True) for row in _ETFS),
    *(_instrument(row, AssetClass.EQUITY, False) for row in _NOT_TRADABLE),
)
