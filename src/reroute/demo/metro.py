"""The demo retailer's world: Chicago places, streets, people's names and a small catalog.

Plain data only; `reroute.demo.builder` turns it into facilities, products, stock and orders.
Coordinates are those of each neighbourhood's or suburb's shopping street, to about 100 m.
"""

from __future__ import annotations

from dataclasses import dataclass

#: State and Madison, the origin of Chicago's street grid.
DOWNTOWN = (41.8819, -87.6278)
FULFILLER_ID = "70125"


@dataclass(frozen=True)
class Place:
    name: str
    city: str
    postal_code: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Site:
    """A store or warehouse: where it is, its store code, and how it works."""

    place: Place
    code: str
    same_day: bool = False
    daily_capacity: int | None = None
    safety_stock: int = 0


def _chicago(name: str, postal_code: str, latitude: float, longitude: float) -> Place:
    return Place(name, "Chicago", postal_code, latitude, longitude)


def _suburb(name: str, postal_code: str, latitude: float, longitude: float) -> Place:
    return Place(name, name, postal_code, latitude, longitude)


STORES = [
    Site(_chicago("The Loop", "60602", 41.8832, -87.6278), "0101", True, 150),
    Site(_chicago("River North", "60654", 41.8925, -87.6340), "0102", True, 120),
    Site(_chicago("Streeterville", "60611", 41.8930, -87.6212), "0103"),
    Site(_chicago("South Loop", "60605", 41.8674, -87.6270), "0104", safety_stock=1),
    Site(_chicago("West Loop", "60607", 41.8866, -87.6487), "0105"),
    Site(_chicago("Lincoln Park", "60614", 41.9184, -87.6490), "0106", True, 120),
    Site(_chicago("Lakeview", "60657", 41.9398, -87.6536), "0107", True),
    Site(_chicago("Wicker Park", "60622", 41.9104, -87.6775), "0108", True, 90),
    Site(_chicago("Logan Square", "60647", 41.9231, -87.7093), "0109"),
    Site(_chicago("Andersonville", "60640", 41.9803, -87.6681), "0110", daily_capacity=60),
    Site(_chicago("Rogers Park", "60626", 42.0087, -87.6664), "0111", safety_stock=1),
    Site(_chicago("Jefferson Park", "60630", 41.9707, -87.7613), "0112", daily_capacity=60),
    Site(_chicago("Pilsen", "60608", 41.8577, -87.6596), "0113"),
    Site(_chicago("Bridgeport", "60608", 41.8381, -87.6470), "0114", daily_capacity=50),
    Site(_chicago("Hyde Park", "60615", 41.7993, -87.5900), "0115", True),
    Site(_suburb("Evanston", "60201", 42.0464, -87.6819), "0201", True, 100),
    Site(_suburb("Skokie", "60077", 42.0324, -87.7416), "0202"),
    Site(_suburb("Oak Park", "60302", 41.8850, -87.7845), "0203", True),
    Site(_suburb("Oak Brook", "60523", 41.8508, -87.9546), "0204", safety_stock=1),
    Site(_suburb("Naperville", "60540", 41.7731, -88.1479), "0205", daily_capacity=80),
    Site(_suburb("Schaumburg", "60173", 42.0467, -88.0373), "0206", safety_stock=1),
    Site(_suburb("Arlington Heights", "60005", 42.0842, -87.9807), "0207"),
    Site(_suburb("Highland Park", "60035", 42.1817, -87.8003), "0208", daily_capacity=50),
    Site(_suburb("Orland Park", "60462", 41.6216, -87.8510), "0209"),
    Site(_suburb("Downers Grove", "60515", 41.7937, -88.0101), "0210"),
]

WAREHOUSES = [
    Site(_suburb("Elk Grove Village", "60007", 42.0040, -87.9700), "9001", daily_capacity=4000),
    Site(_suburb("Bolingbrook", "60440", 41.6986, -88.0684), "9002", daily_capacity=3000),
]

#: Where customers live besides the store neighbourhoods.
HOMES = [
    _chicago("Uptown", "60640", 41.9656, -87.6536),
    _chicago("Edgewater", "60660", 41.9901, -87.6610),
    _chicago("Ravenswood", "60625", 41.9680, -87.6740),
    _chicago("Avondale", "60618", 41.9389, -87.7112),
    _chicago("Humboldt Park", "60651", 41.9025, -87.7209),
    _chicago("Bucktown", "60647", 41.9187, -87.6797),
    _chicago("Old Town", "60610", 41.9109, -87.6380),
    _chicago("Gold Coast", "60610", 41.9058, -87.6273),
    _chicago("Bronzeville", "60653", 41.8169, -87.6157),
    _chicago("Chinatown", "60616", 41.8526, -87.6324),
    _chicago("Beverly", "60643", 41.7196, -87.6757),
    _chicago("Portage Park", "60641", 41.9587, -87.7650),
    _chicago("Albany Park", "60625", 41.9683, -87.7237),
    _chicago("Irving Park", "60618", 41.9536, -87.7360),
    _chicago("Little Village", "60623", 41.8450, -87.7110),
    _suburb("Berwyn", "60402", 41.8506, -87.7937),
    _suburb("Des Plaines", "60016", 42.0334, -87.8834),
    _suburb("Park Ridge", "60068", 42.0111, -87.8406),
    _suburb("Wilmette", "60091", 42.0723, -87.7228),
    _suburb("Glenview", "60025", 42.0698, -87.7878),
    _suburb("Elmhurst", "60126", 41.8995, -87.9403),
    _suburb("La Grange", "60525", 41.8050, -87.8692),
    _suburb("Evergreen Park", "60805", 41.7206, -87.7017),
    _suburb("Wheaton", "60187", 41.8661, -88.1070),
]

CITY_STREETS = [
    "N Clark St",
    "N Halsted St",
    "W Fullerton Ave",
    "N Milwaukee Ave",
    "W Belmont Ave",
    "N Broadway",
    "W Division St",
    "N Ashland Ave",
    "W Irving Park Rd",
    "N Damen Ave",
    "W Chicago Ave",
    "S Halsted St",
    "W Armitage Ave",
    "N Sheridan Rd",
    "S Western Ave",
    "W Addison St",
    "N Lincoln Ave",
    "S Archer Ave",
    "W Roscoe St",
    "N Kedzie Ave",
]
SUBURB_STREETS = [
    "Main St",
    "Oak St",
    "Elm St",
    "Maple Ave",
    "Lake St",
    "Washington St",
    "Grove Ave",
    "Central Ave",
    "Forest Ave",
    "Prospect Ave",
    "Chestnut St",
    "Hillside Ave",
]

FIRST_NAMES = [
    "Olivia",
    "Liam",
    "Sofia",
    "Noah",
    "Amara",
    "Mateo",
    "Grace",
    "Ethan",
    "Priya",
    "Marcus",
    "Hannah",
    "Diego",
    "Chloe",
    "Jamal",
    "Mei",
    "Daniel",
    "Fatima",
    "Owen",
    "Lucia",
    "Samuel",
    "Zoe",
    "Andre",
    "Nora",
    "Kevin",
    "Aisha",
    "Tomasz",
    "Emily",
    "Carlos",
    "Leah",
    "Ryan",
    "Yuki",
    "Isaac",
    "Maya",
    "Patrick",
    "Elena",
    "Victor",
]
LAST_NAMES = [
    "Johnson",
    "Nguyen",
    "Garcia",
    "Kowalski",
    "O'Brien",
    "Patel",
    "Washington",
    "Rodriguez",
    "Kim",
    "Murphy",
    "Hernandez",
    "Novak",
    "Williams",
    "Chen",
    "Jackson",
    "Lopez",
    "Sullivan",
    "Okafor",
    "Brown",
    "Martinez",
    "Schmidt",
    "Davis",
    "Nowak",
    "Singh",
    "Thompson",
    "Rivera",
    "Anderson",
    "Mahmoud",
    "Lee",
    "Walsh",
]


@dataclass(frozen=True)
class Line:
    """A product line, sold in several colours."""

    code: str
    name: str


LINES = [
    Line("LBS", "Linen Button-Down Shirt"),
    Line("OXS", "Oxford Shirt"),
    Line("CNT", "Crewneck T-Shirt"),
    Line("VNT", "V-Neck T-Shirt"),
    Line("MCS", "Merino Crew Sweater"),
    Line("CSC", "Cashmere Cardigan"),
    Line("CKS", "Cable-Knit Sweater"),
    Line("FQZ", "Fleece Quarter-Zip"),
    Line("SLC", "Slim Chinos"),
    Line("SLJ", "Straight-Leg Jeans"),
    Line("RLJ", "Relaxed Jeans"),
    Line("PLT", "Pleated Trousers"),
    Line("DNJ", "Denim Jacket"),
    Line("QVS", "Quilted Vest"),
    Line("RSH", "Rain Shell"),
    Line("WOC", "Wool Overcoat"),
    Line("WRD", "Wrap Dress"),
    Line("MDS", "Midi Skirt"),
    Line("JLG", "Jersey Leggings"),
    Line("CVS", "Canvas Sneakers"),
    Line("LLF", "Leather Loafers"),
    Line("CHB", "Chelsea Boots"),
    Line("WBN", "Wool Beanie"),
    Line("KSC", "Knit Scarf"),
    Line("LBT", "Leather Belt"),
    Line("CBT", "Cotton Bath Towel"),
    Line("WHT", "Waffle Hand Towel"),
    Line("PSS", "Percale Sheet Set"),
    Line("LDC", "Linen Duvet Cover"),
    Line("QTH", "Quilted Throw"),
    Line("DPL", "Down Pillow"),
    Line("CMG", "Ceramic Mug"),
    Line("SDP", "Stoneware Dinner Plate"),
    Line("GTS", "Glass Tumbler Set"),
    Line("CIS", "Cast Iron Skillet"),
    Line("WAR", "Wool Area Rug"),
    Line("TLP", "Table Lamp"),
    Line("SCN", "Scented Candle"),
    Line("WSB", "Woven Storage Basket"),
    Line("LNS", "Linen Napkin Set"),
]
COLOURS = {
    "NVY": "Navy",
    "BLK": "Black",
    "WHT": "White",
    "HGR": "Heather Grey",
    "OLV": "Olive",
    "CML": "Camel",
    "RST": "Rust",
    "SGE": "Sage",
    "CHR": "Charcoal",
    "IVY": "Ivory",
    "IND": "Indigo",
    "BUR": "Burgundy",
    "SND": "Sand",
    "SLB": "Slate Blue",
}
COLOURS_PER_LINE = 5
