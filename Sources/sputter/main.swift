import Proxy
print("sputter: not built yet")
