import XCTest
final class ProxyPlaceholderTests: XCTestCase { func testPlaceholder() {} }
