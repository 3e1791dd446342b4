"""All demands, in id order (D001...). See demands_1/2/3 for the hand-written entries."""
from demands_1 import DEMANDS as _D1
from demands_2 import DEMANDS as _D2
from demands_3 import DEMANDS as _D3
from demands_4 import DEMANDS as _D4
from demands_5 import DEMANDS as _D5

DEMANDS = _D1 + _D2 + _D3 + _D4 + _D5
